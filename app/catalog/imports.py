"""Bulk import of products from a CSV file, for shops moving off a spreadsheet.

The upload is checked for shape at once (encoding, header, size) and stored;
a Celery task applies it in one transaction: new SKUs are created (with
opening stock), known SKUs updated, and each rejected row is reported with
its errors while the good rows go in.
"""

import csv
import io
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app import task_names
from app.catalog.models import Category, ImportStatus, Product, ProductImport
from app.catalog.schemas import CategoryIn, ProductIn
from app.domain import Invalid, TooLarge
from app.extensions import db
from app.inventory.models import Reason
from app.inventory.services import StockChange, apply_stock_changes
from app.models import get_or_raise, utcnow
from app.tasking import enqueue_after_commit

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
# Reported per import; the count of errors is always exact.
MAX_REPORTED_ERRORS = 1_000
REQUIRED = ("sku", "name", "price_idr")
OPTIONAL = ("barcode", "category", "cost_idr", "low_stock_threshold", "stock", "is_active", "description")
# Headers shops commonly have in their spreadsheets, in English and Indonesian.
ALIASES = {
    "price": "price_idr", "harga": "price_idr", "harga_jual": "price_idr",
    "cost": "cost_idr", "harga_beli": "cost_idr", "harga_pokok": "cost_idr",
    "nama": "name", "nama_produk": "name", "product": "name",
    "kategori": "category", "stok": "stock", "qty": "stock",
    "kode": "sku", "kode_barang": "sku", "min_stock": "low_stock_threshold", "stok_minimum": "low_stock_threshold",
    "deskripsi": "description", "aktif": "is_active", "active": "is_active",
}
_RUPIAH = re.compile(r"^\d{1,3}([.,]\d{3})+$|^\d+$")
_TRUE = {"1", "true", "yes", "y", "ya", "aktif"}
_FALSE = {"0", "false", "no", "n", "tidak", "nonaktif"}


def _header_name(raw: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", raw.strip().lower()).strip("_")
    return ALIASES.get(name, name)


def _decode(raw_bytes: bytes) -> str:
    try:
        return raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text; in Excel use 'Save as: CSV UTF-8'.")


def _reader(text: str) -> tuple[list[str], Iterator[list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [_header_name(cell) for cell in next(reader, [])]
    return header, reader


def _check_header(header: list[str]) -> None:
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise Invalid(
            f"The header row lacks {', '.join(missing)}; required columns are {', '.join(REQUIRED)}.",
            errors={"file": {"missing_columns": missing}},
        )
    duplicated = sorted({column for column in header if column and header.count(column) > 1})
    if duplicated:
        raise Invalid(f"Columns appear twice: {', '.join(duplicated)}.")


def start_import(store_id: int, user_id: int, upload: FileStorage) -> ProductImport:
    raw = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    text = _decode(raw)
    if "\x00" in text:
        # No spreadsheet writes NUL into a CSV, and the database cannot store it.
        raise Invalid("The file contains NUL characters; it is not a CSV text file.",
                      errors={"file": ["Contains NUL characters."]})
    header, reader = _reader(text)
    _check_header(header)
    rows = sum(1 for row in reader if any(cell.strip() for cell in row))
    if rows == 0:
        raise Invalid("The file has a header but no rows.")
    if rows > MAX_ROWS:
        raise Invalid(f"The file has {rows} rows; split it into files of at most {MAX_ROWS}.")
    product_import = ProductImport(
        filename=(upload.filename or "")[:255] or None,
        content=text,
        store_id=store_id,
        created_by_id=user_id,
        total_rows=rows,
        row_errors=[],
    )
    db.session.add(product_import)
    db.session.flush()
    enqueue_after_commit(db.session, task_names.IMPORT_PRODUCTS, product_import.id)
    db.session.commit()
    return product_import


def get_import(import_id: int) -> ProductImport:
    return get_or_raise(ProductImport, import_id, "product import")


# Applying an import (the Celery task)


def _cell_value(column: str, cell: str) -> str | int | bool:
    """A spreadsheet cell as the API would receive it; what cannot be read is left for the schema to reject."""
    text = cell.strip()
    if column in ("price_idr", "cost_idr"):
        amount = re.sub(r"^rp\.?\s*", "", text.lower()).replace(" ", "")
        return int(re.sub(r"[.,]", "", amount)) if _RUPIAH.match(amount) else text
    if column in ("low_stock_threshold", "stock"):
        return int(text) if text.isdigit() else text
    if column == "is_active":
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    return text


def _parse_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yields (row number, {column: value}) for each non-empty row; row 1 is the header."""
    header, reader = _reader(text)
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {}
        for column, cell in zip(header, cells):
            if column in REQUIRED + OPTIONAL and cell.strip():
                values[column] = _cell_value(column, cell)
        yield number, values


class _Catalog:
    """What the import needs to know about existing products and categories, loaded once."""

    def __init__(self, skus: Sequence[str], barcodes: Sequence[str]) -> None:
        self.by_sku: dict[str, Product] = {}
        for start in range(0, len(skus), 1000):
            chunk = skus[start : start + 1000]
            self.by_sku.update((p.sku, p) for p in db.session.scalars(select(Product).where(Product.sku.in_(chunk))))
        self.barcode_owner: dict[str | None, str] = {}
        for start in range(0, len(barcodes), 1000):
            chunk = barcodes[start : start + 1000]
            self.barcode_owner.update(
                db.session.execute(select(Product.barcode, Product.sku).where(Product.barcode.in_(chunk))).all()
            )
        self.categories = {c.name.lower(): c for c in db.session.scalars(select(Category))}

    def category_id(self, name: str) -> int:
        category = self.categories.get(name.lower())
        if category is None:
            category = self.categories[name.lower()] = Category(name=name)
            db.session.add(category)
            db.session.flush()
        return category.id


class _Rejections:
    def __init__(self) -> None:
        self.count = 0
        self.reported: list[dict[str, Any]] = []

    def add(self, number: int, values: Mapping[str, Any], errors: Mapping[str, Any]) -> None:
        self.count += 1
        if len(self.reported) < MAX_REPORTED_ERRORS:
            self.reported.append({"row": number, "sku": values.get("sku"), "errors": errors})


def run_import(import_id: int) -> ProductImport | None:
    """Apply a pending import once; running it again changes nothing."""
    product_import = db.session.scalars(
        select(ProductImport).where(ProductImport.id == import_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if product_import is None or product_import.status != ImportStatus.PENDING:
        return product_import
    rows = list(_parse_rows(product_import.content))
    skus = sorted({str(values.get("sku", "")).strip() for _, values in rows})
    barcodes = sorted({str(values["barcode"]).strip() for _, values in rows if values.get("barcode")})
    catalog = _Catalog(skus, barcodes)
    schema, category_schema = ProductIn(unknown=EXCLUDE), CategoryIn(only=("name",))
    seen_skus, opening_stock, rejections = set(), [], _Rejections()
    product_import.created_count = product_import.updated_count = 0

    for number, values in rows:
        category_name = values.pop("category", None)
        if "stock" in values:
            values["initial_stock"] = values.pop("stock")
        errors: dict[str, Any] = {}
        try:
            data = schema.load(values)
        except ValidationError as error:
            errors.update(error.normalized_messages())
        if category_name:
            # A category named here is created as the API would create it, so it is checked the same way.
            try:
                category_name = category_schema.load({"name": category_name})["name"]
            except ValidationError as error:
                errors["category"] = error.normalized_messages()["name"]
        if errors:
            rejections.add(number, values, errors)
            continue
        if data["sku"] in seen_skus:
            rejections.add(number, values, {"sku": ["Appears on an earlier row of this file."]})
            continue
        existing = catalog.by_sku.get(data["sku"])
        owner = catalog.barcode_owner.get(data.get("barcode"))
        if data.get("barcode") and owner is not None and owner != data["sku"]:
            rejections.add(number, values, {"barcode": [f"Already used by product {owner}."]})
            continue
        seen_skus.add(data["sku"])
        if data.get("barcode"):
            catalog.barcode_owner[data["barcode"]] = data["sku"]
        if category_name:
            data["category_id"] = catalog.category_id(category_name)
        initial_stock = data.pop("initial_stock", 0)
        if existing is None:
            product = Product(**data)
            db.session.add(product)
            db.session.flush()
            catalog.by_sku[product.sku] = product
            opening_stock.append(StockChange(product.id, initial_stock))
            product_import.created_count += 1
        else:
            for field, value in data.items():
                setattr(existing, field, value)
            product_import.updated_count += 1

    apply_stock_changes(
        store_id=product_import.store_id,
        changes=opening_stock,
        reason=Reason.INITIAL,
        reference=f"product_import:{product_import.id}",
        user_id=product_import.created_by_id,
    )
    product_import.error_count, product_import.row_errors = rejections.count, rejections.reported
    product_import.status = ImportStatus.DONE
    product_import.finished_at = utcnow()
    db.session.commit()
    log.info(
        "product_import_done import_id=%s created=%s updated=%s rejected=%s",
        product_import.id, product_import.created_count, product_import.updated_count, product_import.error_count,
    )
    return product_import


def mark_failed(import_id: int, reason: str) -> None:
    db.session.rollback()
    product_import = db.session.get(ProductImport, import_id)
    if product_import is not None and product_import.status == ImportStatus.PENDING:
        product_import.status = ImportStatus.FAILED
        product_import.error = reason[:2000]
        product_import.finished_at = utcnow()
        db.session.commit()
