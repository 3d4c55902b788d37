"""Categories and products: the rules of the catalog."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.catalog.models import Category, Product
from app.domain import Conflict, Invalid, NotFound
from app.extensions import db
from app.inventory.models import Reason, StockLevel, StockMovement
from app.inventory.services import STOCK, StockChange, apply_stock_changes, with_stock
from app.models import get_or_raise


def _commit_or_conflict(message: str, flush_only: bool = False) -> None:
    """Commit (or flush); a unique key lost to a concurrent request becomes a Conflict, not a 500."""
    try:
        db.session.flush() if flush_only else db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message)


# Categories


def categories_query(q: str | None = None) -> Select[Category]:
    query = select(Category).order_by(Category.sort_order, Category.name)
    if q:
        query = query.where(func.lower(Category.name).contains(q.strip().lower(), autoescape=True))
    return query


def get_category(category_id: int) -> Category:
    return get_or_raise(Category, category_id, "category")


def _check_category_name(name: str, exclude_id: int | None = None) -> None:
    query = select(Category.id).where(func.lower(Category.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Category.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise Conflict(f"A category named {name!r} exists.", errors={"json": {"name": ["Already used."]}})


def create_category(data: Mapping[str, Any]) -> Category:
    _check_category_name(data["name"])
    category = Category(**data)
    db.session.add(category)
    _commit_or_conflict(f"A category named {data['name']!r} exists.")
    return category


def update_category(category_id: int, changes: Mapping[str, Any]) -> Category:
    category = get_category(category_id)
    if "name" in changes:
        _check_category_name(changes["name"], exclude_id=category_id)
    for field, value in changes.items():
        setattr(category, field, value)
    _commit_or_conflict("A category with that name exists.")
    return category


def delete_category(category_id: int) -> None:
    category = get_category(category_id)
    in_use = db.session.scalar(select(func.count()).where(Product.category_id == category_id))
    if in_use:
        raise Conflict(f"{in_use} products are in this category; move them to another category first.")
    db.session.delete(category)
    db.session.commit()


# Products


def products_query(store_id: int, q: str | None = None, category_id: int | None = None, is_active: bool | None = None,
                   low_stock: bool | None = None) -> Select[Product]:
    query = with_stock(select(Product), store_id).order_by(Product.name, Product.id)
    if q:
        needle = q.strip()
        query = query.where(
            or_(
                func.lower(Product.name).contains(needle.lower(), autoescape=True),
                func.lower(Product.sku).contains(needle.lower(), autoescape=True),
                Product.barcode == needle,
            )
        )
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    if is_active is not None:
        query = query.where(Product.is_active.is_(is_active))
    if low_stock is not None:
        at_or_under = STOCK <= Product.low_stock_threshold
        query = query.where(at_or_under & Product.is_active.is_(True) if low_stock else ~at_or_under)
    return query


def low_stock_query(store_id: int) -> Select[Product]:
    """Active products at or under their threshold, fewest left first."""
    return (
        with_stock(select(Product), store_id)
        .where(Product.is_active.is_(True), STOCK <= Product.low_stock_threshold)
        .order_by(STOCK, Product.name)
    )


def get_product(store_id: int, product_id: int) -> Product:
    product = db.session.scalars(with_stock(select(Product), store_id).where(Product.id == product_id)).first()
    if product is None:
        raise NotFound(f"No product with id {product_id}.")
    return product


def find_by_code(store_id: int, code: str) -> Product:
    """What a scanner read: a barcode, or else a SKU (some shops print SKUs as barcodes)."""
    code = code.strip()
    query = with_stock(select(Product), store_id)
    product = db.session.scalars(query.where(Product.barcode == code)).first()
    product = product or db.session.scalars(query.where(Product.sku == code)).first()
    if product is None:
        raise NotFound(f"No product with barcode or SKU {code!r}.")
    return product


def _check_product_fields(data: Mapping[str, Any], exclude_id: int | None = None) -> None:
    """Unique SKU and barcode, and a category that exists: Conflict or Invalid before anything is written."""
    conflicts = {}
    for field in ("sku", "barcode"):
        value = data.get(field)
        if value is None:
            continue
        query = select(Product.id).where(getattr(Product, field) == value)
        if exclude_id is not None:
            query = query.where(Product.id != exclude_id)
        if db.session.scalar(query) is not None:
            conflicts[field] = ["Already used by another product."]
    if conflicts:
        names = " and ".join("SKU" if field == "sku" else field for field in conflicts)
        raise Conflict(f"Another product uses this {names}.", errors={"json": conflicts})
    category_id = data.get("category_id")
    if category_id is not None and db.session.get(Category, category_id) is None:
        raise Invalid("Unknown category.", errors={"json": {"category_id": [f"No category with id {category_id}."]}})


def create_product(store_id: int, user_id: int, data: Mapping[str, Any]) -> Product:
    data = dict(data)
    initial_stock = data.pop("initial_stock", 0)
    _check_product_fields(data)
    product = Product(**data)
    db.session.add(product)
    # The INSERT meets the unique keys here, before the commit: a twin created since the check loses now.
    _commit_or_conflict("Another product uses this SKU or barcode.", flush_only=True)
    apply_stock_changes(
        store_id=store_id,
        changes=[StockChange(product.id, initial_stock)],
        reason=Reason.INITIAL,
        reference=f"product:{product.id}",
        user_id=user_id,
    )
    _commit_or_conflict("Another product uses this SKU or barcode.")
    return get_product(store_id, product.id)


def update_product(store_id: int, product_id: int, changes: Mapping[str, Any]) -> Product:
    product = get_product(store_id, product_id)
    _check_product_fields(changes, exclude_id=product_id)
    for field, value in changes.items():
        setattr(product, field, value)
    _commit_or_conflict("Another product uses this SKU or barcode.")
    return get_product(store_id, product_id)


def remove_product(store_id: int, product_id: int) -> Product | None:
    """Delete a product nobody has used; deactivate one with history. Returns it if kept."""
    product = get_product(store_id, product_id)
    if not db.session.scalar(select(exists().where(StockMovement.product_id == product_id))):
        try:
            with db.session.begin_nested():
                db.session.execute(delete(StockLevel).where(StockLevel.product_id == product_id))
                db.session.delete(product)
            db.session.commit()
            return None
        except IntegrityError:
            pass  # something else refers to it (a stock take line, say): keep it
    product.is_active = False
    db.session.commit()
    return get_product(store_id, product_id)
