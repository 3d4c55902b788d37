"""Report exports to CSV or XLSX, written by a Celery task that streams rows.

Rows come from a server-side cursor a thousand at a time and go straight to
the file (openpyxl's write-only mode for XLSX), so memory stays flat however
long the range. The file lands in EXPORT_DIR; only the person who asked may
download it, and beat deletes it after EXPORT_RETENTION_HOURS. With several
machines, EXPORT_DIR must be storage the worker and the API share.
"""

import csv
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import Select, String, and_, literal, select, update

from app import task_names
from app.catalog.models import Product
from app.domain import Conflict, Gone, NotFound
from app.extensions import db
from app.inventory.models import StockMovement
from app.models import utcnow
from app.orders.models import Order, OrderItem
from app.reports import services
from app.reports.cells import safe_row
from app.reports.daily import utc_bounds
from app.reports.models import Channel, ExportStatus, ReportExport
from app.sales.models import Sale, SaleItem
from app.sales.pricing import share_out
from app.sales.statuses import SaleStatus
from app.tasking import enqueue_after_commit
from app.users.models import User

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

log = logging.getLogger(__name__)
BATCH = 1000


def request_export(store_id: int, user_id: int, report: str, file_format: str, date_from: date,
                   date_to: date) -> ReportExport:
    services.check_range(date_from, date_to)
    export = ReportExport(store_id=store_id, requested_by_id=user_id, report=report, format=file_format,
                          date_from=date_from, date_to=date_to, status=ExportStatus.PENDING, created_at=utcnow())
    db.session.add(export)
    db.session.flush()
    enqueue_after_commit(db.session, task_names.RUN_EXPORT, export.id)
    db.session.commit()
    return export


def get_export(export_id: int, user_id: int) -> ReportExport:
    """The export if this user asked for it; NotFound for anyone else, as if it did not exist."""
    export = db.session.get(ReportExport, export_id)
    if export is None or export.requested_by_id != user_id:
        raise NotFound(f"No export with id {export_id}.")
    return export


def export_path(export: ReportExport) -> Path:
    assert export.file_name is not None, "only a done export has a file"
    return Path(current_app.config["EXPORT_DIR"]) / export.file_name


def downloadable(export_id: int, user_id: int) -> tuple[ReportExport, Path]:
    export = get_export(export_id, user_id)
    if export.status == ExportStatus.EXPIRED:
        raise Gone("The file has been cleaned up; request the export again.")
    if export.status != ExportStatus.DONE:
        raise Conflict(f"The export is {export.status}; it can be downloaded once it is done.")
    path = export_path(export)
    if not path.exists():
        raise Gone("The file has been cleaned up; request the export again.")
    return export, path


# The task body


def run_export(export_id: int) -> int | None:
    """Write the export's file once; a second run of a finished export changes nothing."""
    claimed = db.session.execute(  # type: ignore[attr-defined]  # DML gives a CursorResult
        update(ReportExport)
        .where(ReportExport.id == export_id, ReportExport.status.in_((ExportStatus.PENDING, ExportStatus.RUNNING)))
        .values(status=ExportStatus.RUNNING)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    export = db.session.get_one(ReportExport, export_id)
    header, rows = REPORTS[export.report](export)
    directory = Path(current_app.config["EXPORT_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{export.id}-{export.report}-{export.date_from}-{export.date_to}.{export.format}"
    partial = directory / (name + ".part")
    count = (_write_csv if export.format == "csv" else _write_xlsx)(partial, header, rows)
    os.replace(partial, directory / name)
    db.session.execute(
        update(ReportExport).where(ReportExport.id == export_id)
        .values(status=ExportStatus.DONE, row_count=count, file_name=name, size_bytes=(directory / name).stat().st_size,
                finished_at=utcnow())
    )
    db.session.commit()
    log.info("report_export_done export_id=%s rows=%s", export_id, count)
    return count


def mark_failed(export_id: int, reason: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(ReportExport).where(ReportExport.id == export_id, ReportExport.status != ExportStatus.DONE)
        .values(status=ExportStatus.FAILED, error=reason[:2000], finished_at=utcnow())
    )
    db.session.commit()


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        # Every text cell in double quotes (numbers bare, so they stay numbers): a comma or a
        # semicolon in a name cannot start a new cell where Excel splits on `;` (Indonesian locale).
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(header)
        for row in rows:
            writer.writerow(safe_row(row))
            count += 1
    return count


def _write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("report")
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append(_xlsx_cells(sheet, safe_row(row)))
        count += 1
    workbook.save(path)
    return count


def _xlsx_cells(sheet: "WriteOnlyWorksheet", row: Sequence[Any]) -> list[Any]:
    """Text as string cells, always: openpyxl would make a text starting with `=` a formula, `#N/A` an error."""
    cells = []
    for value in row:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def _stream(statement: Select[*tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Rows of `statement` from a server-side cursor, BATCH at a time, as plain tuples."""
    result = db.session.execute(statement.execution_options(yield_per=BATCH))
    for row in result:
        yield tuple(row)


def _range(export: ReportExport) -> tuple[datetime, datetime]:
    start, _ = utc_bounds(export.date_from)
    _, end = utc_bounds(export.date_to)
    return start, end


def _sales_detail(export: ReportExport) -> tuple[list[str], Iterable[Sequence[Any]]]:
    header = ["channel", "number", "business_date", "created_at", "status", "cashier", "subtotal_idr",
              "discount_idr", "service_charge_idr", "tax_idr", "total_idr", "paid_idr", "change_idr", "refunded_idr"]
    start, end = _range(export)
    pos = (
        select(literal(Channel.POS, String), Sale.number, Sale.business_date, Sale.created_at, Sale.status, User.username,
               Sale.subtotal_idr, Sale.discount_idr, Sale.service_charge_idr, Sale.tax_idr, Sale.total_idr,
               Sale.paid_idr, Sale.change_idr, Sale.refunded_idr)
        .join(User, User.id == Sale.cashier_id)
        .where(Sale.store_id == export.store_id, Sale.business_date.between(export.date_from, export.date_to))
        .order_by(Sale.id)
    )
    online = (
        select(literal(Channel.ONLINE, String), Order.id, Order.paid_at, Order.paid_at, Order.status, literal(None),
               Order.subtotal_idr, literal(0), Order.service_charge_idr, Order.tax_idr, Order.total_idr,
               Order.total_idr, literal(0), Order.refunded_idr)
        .where(Order.store_id == export.store_id, Order.paid_at >= start, Order.paid_at < end)
        .order_by(Order.paid_at)
    )

    def rows() -> Iterator[tuple[Any, ...]]:
        yield from _stream(pos)
        for row in _stream(online):
            yield (row[0], str(row[1]), row[2].astimezone(services.store_zone()).date(), *row[3:])

    return header, (_cells(row) for row in rows())


def _items_sold(export: ReportExport) -> tuple[list[str], Iterable[Sequence[Any]]]:
    header = ["channel", "number", "business_date", "sku", "name", "qty", "unit_price_idr", "line_discount_idr",
              "total_share_idr", "refunded_qty"]
    start, end = _range(export)
    pos = (
        select(literal(Channel.POS, String), Sale.number, Sale.business_date, SaleItem.sku, SaleItem.name, SaleItem.qty,
               SaleItem.unit_price_idr, SaleItem.line_discount_idr, SaleItem.total_share_idr, SaleItem.refunded_qty)
        .join(Sale, Sale.id == SaleItem.sale_id)
        .where(Sale.store_id == export.store_id, Sale.business_date.between(export.date_from, export.date_to),
               Sale.status != SaleStatus.VOIDED)
        .order_by(SaleItem.id)
    )
    online = (
        select(literal(Channel.ONLINE, String), Order.id, Order.paid_at, OrderItem.sku, OrderItem.name, OrderItem.qty,
               OrderItem.unit_price_idr, literal(0), OrderItem.line_total_idr, literal(0), Order.total_idr)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.store_id == export.store_id, Order.paid_at >= start, Order.paid_at < end)
        .order_by(Order.paid_at, Order.id, OrderItem.id)
    )

    def rows() -> Iterator[tuple[Any, ...]]:
        yield from _stream(pos)
        # An order line stores its price before service and tax: its share of the order's total is
        # shared out as a sale's lines are (and as the reports count it).
        for _, order_lines in groupby(_stream(online), key=lambda row: row[1]):
            lines = list(order_lines)
            shares = share_out(lines[0][10], [line[8] for line in lines])
            for row, share in zip(lines, shares):
                yield (row[0], str(row[1]), row[2].astimezone(services.store_zone()).date(), *row[3:8], share, row[9])

    return header, (_cells(row) for row in rows())


def _stock_movements(export: ReportExport) -> tuple[list[str], Iterable[Sequence[Any]]]:
    header = ["created_at", "sku", "name", "delta", "balance_after", "reason", "reference", "note", "user"]
    start, end = _range(export)
    statement = (
        select(StockMovement.created_at, Product.sku, Product.name, StockMovement.delta, StockMovement.balance_after,
               StockMovement.reason, StockMovement.reference, StockMovement.note, User.username)
        .join(Product, Product.id == StockMovement.product_id)
        .outerjoin(User, and_(User.id == StockMovement.user_id))
        .where(StockMovement.store_id == export.store_id, StockMovement.created_at >= start,
               StockMovement.created_at < end)
        .order_by(StockMovement.id)
    )
    return header, (_cells(row) for row in _stream(statement))


def _best_sellers(export: ReportExport) -> tuple[list[str], Iterable[Sequence[Any]]]:
    header = ["rank", "sku", "name", "category", "qty", "revenue_idr"]
    rows = services.best_sellers(export.store_id, export.date_from, export.date_to, by="qty", limit=100_000)
    return header, (
        (rank, r["sku"], r["name"], r["category_name"] or "", r["qty"], r["revenue_idr"])
        for rank, r in enumerate(rows, start=1)
    )


def _cells(row: Sequence[Any]) -> tuple[Any, ...]:
    """Values a spreadsheet shows as they are: times in the store's zone, without tzinfo (XLSX has none)."""
    zone = services.store_zone()
    return tuple(
        value.astimezone(zone).replace(tzinfo=None) if hasattr(value, "astimezone") and getattr(value, "tzinfo", None)
        else value
        for value in row
    )


REPORTS = {
    "sales_detail": _sales_detail,
    "items_sold": _items_sold,
    "stock_movements": _stock_movements,
    "best_sellers": _best_sellers,
}


def clean_up_old_files() -> int:
    """Delete export files past their retention; their rows say `expired`. Returns how many."""
    cutoff = utcnow() - timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])
    old = db.session.scalars(
        select(ReportExport).where(ReportExport.status == ExportStatus.DONE, ReportExport.finished_at < cutoff)).all()
    for export in old:
        path = export_path(export)
        if path.exists():
            path.unlink()
        export.status = ExportStatus.EXPIRED
    db.session.commit()
    return len(old)
