"""The one place stock changes, and the queries that read it.

`apply_stock_changes` is used by every feature that moves stock: adjustments,
stock takes, sales, voids, refunds, online reservations and their release.
Each change is a conditional `UPDATE ... WHERE quantity + delta >= 0`, so two
tills can never sell the last unit twice and no update is lost; rows are
locked in product order so two multi-line changes cannot deadlock. It writes
into the caller's transaction and never commits: the caller's state change
(the sale, the order, the stock take) commits with it, or nothing does.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, insert, select, update
from sqlalchemy.orm import with_expression
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.catalog.models import Product
from app.domain import Conflict
from app.driver_sql import DriverStatement
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement
from app.models import get_or_raise, utcnow

# Products per UPDATE statement: keeps the CASE expression and the parameter
# count small for stock takes of thousands of lines.
_CHUNK = 500


@dataclass(frozen=True)
class StockChange:
    product_id: int
    delta: int


class InsufficientStock(Conflict):
    """Some products do not have enough units; nothing may be committed."""

    def __init__(self, shortages: list[dict[str, Any]]) -> None:
        self.shortages = shortages  # [{"product_id", "name", "requested", "available"}]
        super().__init__(
            "Not enough stock for "
            + ", ".join(f"{s['name']} (asked {s['requested']}, {s['available']} left)" for s in shortages)
            + ".",
            errors={"stock": shortages},
        )


def apply_stock_changes(*, store_id: int, changes: Iterable[StockChange], reason: str, reference: str | None = None,
                        user_id: int | None = None, note: str | None = None) -> list[int]:
    """Apply `changes` at `store_id` and write their movements; returns the movements' ids (product order).

    Deltas of the same product are added together; zero deltas are dropped.
    Raises InsufficientStock (the caller must roll back) if any product would
    go below zero.
    """
    deltas: dict[int, int] = defaultdict(int)
    for change in changes:
        deltas[change.product_id] += change.delta
    deltas = {product_id: delta for product_id, delta in sorted(deltas.items()) if delta != 0}
    if not deltas:
        return []
    movement = {"store_id": store_id, "reason": reason, "reference": reference, "note": note, "user_id": user_id,
                "created_at": utcnow()}
    moved = _change_levels(deltas, movement)
    missing = {pid: delta for pid, delta in deltas.items() if pid not in moved}
    if _create_missing_levels(store_id, missing):
        moved.update(_change_levels({pid: delta for pid, delta in missing.items() if delta > 0}, movement))
    shortages = [pid for pid in deltas if pid not in moved]
    if shortages:
        raise InsufficientStock(_describe_shortages(store_id, {pid: deltas[pid] for pid in shortages}))
    return [moved[pid] for pid in deltas]


def _change_levels(deltas: dict[int, int], movement: Mapping[str, Any]) -> dict[int, int]:
    """Add each delta where the level stays >= 0 and record its movement; returns {product_id: movement id}.

    A product missing from the result has no level at the store, or too few units.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return dict(_CHANGE_LEVELS_PG.rows({**movement, "product_ids": list(deltas), "deltas": list(deltas.values())}))
    balances = _update_levels_portable(movement["store_id"], deltas, movement["created_at"])
    if not balances:
        return {}
    changed = [pid for pid in deltas if pid in balances]
    rows = [{**movement, "product_id": pid, "delta": deltas[pid], "balance_after": balances[pid]} for pid in changed]
    return dict(zip(changed, db.session.scalars(_INSERT_MOVEMENTS, rows).all()))


_INSERT_MOVEMENTS = insert(StockMovement.__table__).returning(
    StockMovement.__table__.c.id, sort_by_parameter_order=True
)

# PostgreSQL: any number of products, levels and movements in one constant
# statement (every sale runs it). The rows are locked in product order by the
# FOR UPDATE subquery, so two multi-line changes never deadlock; a row whose
# quantity would go below zero is left out, and so is its movement.
_CHANGE_LEVELS_PG = DriverStatement("""
    WITH changed AS (
        UPDATE stock_levels AS level
        SET quantity = level.quantity + change.delta, updated_at = :created_at
        FROM (
            SELECT locked.product_id, wanted.delta
            FROM unnest(CAST(:product_ids AS integer[]), CAST(:deltas AS integer[])) AS wanted(product_id, delta)
            JOIN stock_levels AS locked ON locked.store_id = :store_id AND locked.product_id = wanted.product_id
            ORDER BY locked.product_id
            FOR UPDATE OF locked
        ) AS change
        WHERE level.store_id = :store_id AND level.product_id = change.product_id
          AND level.quantity + change.delta >= 0
        RETURNING level.product_id, change.delta, level.quantity
    )
    INSERT INTO stock_movements (store_id, product_id, delta, balance_after, reason, reference, note, user_id, created_at)
    SELECT :store_id, changed.product_id, changed.delta, changed.quantity, :reason, :reference, :note, :user_id,
           :created_at
    FROM changed
    ORDER BY changed.product_id
    RETURNING product_id, id
""")


def _update_levels_portable(store_id: int, deltas: dict[int, int], now: datetime) -> dict[int, int]:
    """Conditionally add each delta; returns {product_id: quantity after} for the rows changed.

    Any database: a CASE per chunk, the rows locked in product order by a
    FOR UPDATE subquery (SQLite has no row locks and serializes writers).
    """
    balances: dict[int, int] = {}
    items = list(deltas.items())
    for start in range(0, len(items), _CHUNK):
        chunk = dict(items[start : start + _CHUNK])
        delta_of = case(chunk, value=StockLevel.product_id)
        in_chunk = (StockLevel.store_id == store_id, StockLevel.product_id.in_(list(chunk)))
        statement = update(StockLevel)
        if len(chunk) > 1:
            locked = (
                select(StockLevel.product_id).where(*in_chunk).order_by(StockLevel.product_id).with_for_update()
                .subquery("locked")
            )
            statement = statement.where(StockLevel.product_id == locked.c.product_id)
        statement = (
            statement
            .where(
                *in_chunk,
                StockLevel.quantity + delta_of >= 0,
            )
            .values(quantity=StockLevel.quantity + delta_of, updated_at=now)
            .returning(StockLevel.product_id, StockLevel.quantity)
            .execution_options(synchronize_session=False)
        )
        balances.update(db.session.execute(statement).all())
    return balances


def _create_missing_levels(store_id: int, deltas: dict[int, int]) -> bool:
    """A product without a level at this store starts at zero: create it for positive deltas (True if any)."""
    positive = {pid: delta for pid, delta in deltas.items() if delta > 0}
    if not positive:
        return False
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(StockLevel)
        .values([{"store_id": store_id, "product_id": pid, "quantity": 0, "updated_at": utcnow()} for pid in positive])
        .on_conflict_do_nothing()
    )
    return True


def _describe_shortages(store_id: int, deltas: dict[int, int]) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Product.id, Product.name, StockLevel.quantity)
        .outerjoin(StockLevel, and_(StockLevel.product_id == Product.id, StockLevel.store_id == store_id))
        .where(Product.id.in_(list(deltas)))
    ).all()
    found = {row.id: row for row in rows}
    return [
        {
            "product_id": pid,
            "name": found[pid].name if pid in found else None,
            "requested": -delta,
            "available": (found[pid].quantity or 0) if pid in found else 0,
        }
        for pid, delta in deltas.items()
    ]


def stock_level(store_id: int, product_id: int) -> int:
    quantity = db.session.scalar(
        select(StockLevel.quantity).where(StockLevel.store_id == store_id, StockLevel.product_id == product_id)
    )
    return quantity or 0


# Units of the joined product at the store in `with_stock`; usable in filters and ordering.
STOCK = func.coalesce(StockLevel.quantity, 0)


def with_stock(query: Select[Product], store_id: int) -> Select[Product]:
    """Join each product's units at `store_id` into a `select(Product)`, loaded as `product.stock`."""
    return query.outerjoin(
        StockLevel, and_(StockLevel.product_id == Product.id, StockLevel.store_id == store_id)
    ).options(with_expression(Product.stock, STOCK))


def require_product(product_id: int) -> Product:
    """The product, or NotFound: stock is kept for products that exist."""
    return get_or_raise(Product, product_id, "product")


def adjust_stock(store_id: int, product_id: int, user_id: int, delta: int, reason: str,
                 note: str | None = None) -> StockMovement | None:
    """A person's correction or a goods receipt: one movement, committed."""
    require_product(product_id)
    try:
        [movement_id] = apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(product_id, delta)],
            reason=reason,
            user_id=user_id,
            note=note,
        )
    except InsufficientStock:
        db.session.rollback()
        raise
    db.session.commit()
    return db.session.get(StockMovement, movement_id)


def movements_query(store_id: int, product_id: int, reason: str | None = None) -> Select[StockMovement]:
    query = (
        select(StockMovement)
        .where(StockMovement.store_id == store_id, StockMovement.product_id == product_id)
        .order_by(StockMovement.id.desc())
    )
    return query.where(StockMovement.reason == reason) if reason else query
