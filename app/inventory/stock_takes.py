"""Stock takes: counted shelves become `stock_take` movements, applied once by a Celery task."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, insert, select

from app import task_names
from app.catalog.models import Product
from app.domain import Invalid
from app.extensions import db
from app.inventory.models import Reason, StockLevel, StockTake, StockTakeLine, StockTakeStatus
from app.inventory.services import StockChange, apply_stock_changes
from app.models import get_or_raise, utcnow
from app.tasking import enqueue_after_commit

log = logging.getLogger(__name__)
_CHUNK = 1000


def _unknown_products(product_ids: Sequence[int]) -> list[int]:
    known: set[int] = set()
    for start in range(0, len(product_ids), _CHUNK):
        chunk = product_ids[start : start + _CHUNK]
        known.update(db.session.scalars(select(Product.id).where(Product.id.in_(chunk))))
    return [product_id for product_id in product_ids if product_id not in known]


def create_stock_take(store_id: int, user_id: int, counts: Sequence[Mapping[str, Any]],
                      note: str | None = None) -> StockTake:
    unknown = _unknown_products([line["product_id"] for line in counts])
    if unknown:
        raise Invalid(
            f"Unknown products: {unknown[:20]}.",
            errors={"json": {"counts": {"unknown_product_ids": unknown[:100]}}},
        )
    stock_take = StockTake(store_id=store_id, status=StockTakeStatus.PENDING, note=note, line_count=len(counts),
                           created_by_id=user_id)
    db.session.add(stock_take)
    db.session.flush()
    db.session.execute(
        insert(StockTakeLine),
        [{"stock_take_id": stock_take.id, "product_id": line["product_id"], "counted": line["counted"]} for line in counts],
    )
    enqueue_after_commit(db.session, task_names.APPLY_STOCK_TAKE, stock_take.id)
    db.session.commit()
    return stock_take


def get_stock_take(stock_take_id: int) -> StockTake:
    return get_or_raise(StockTake, stock_take_id, "stock take")


def stock_takes_query(status: str | None = None) -> Select[StockTake]:
    query = select(StockTake).order_by(StockTake.id.desc())
    return query.where(StockTake.status == status) if status else query


def apply_stock_take(stock_take_id: int) -> StockTake | None:
    """Set each counted product's stock to what was counted, once.

    The stock take row is locked and its status checked inside the same
    transaction that writes the movements, so a second run (a redelivered
    task, a duplicate) finds it applied and changes nothing.
    """
    stock_take = db.session.scalars(
        select(StockTake).where(StockTake.id == stock_take_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if stock_take is None or stock_take.status != StockTakeStatus.PENDING:
        db.session.rollback()
        return stock_take
    lines = sorted(stock_take.lines, key=lambda line: line.product_id)
    held = _lock_quantities(stock_take.store_id, [line.product_id for line in lines])
    changes = []
    for line in lines:
        line.expected = held.get(line.product_id, 0)
        line.difference = difference = line.counted - line.expected
        changes.append(StockChange(line.product_id, difference))
    apply_stock_changes(
        store_id=stock_take.store_id,
        changes=changes,
        reason=Reason.STOCK_TAKE,
        reference=f"stock_take:{stock_take.id}",
        user_id=stock_take.created_by_id,
    )
    stock_take.status = StockTakeStatus.APPLIED
    stock_take.applied_at = utcnow()
    # Counted before the commit expires the lines: after it, each line would be reloaded one SELECT at a time.
    changed = sum(1 for line in lines if line.difference)
    db.session.commit()
    log.info("stock_take_applied stock_take_id=%s lines=%s changed=%s", stock_take_id, len(lines), changed)
    return stock_take


def _lock_quantities(store_id: int, product_ids: Sequence[int]) -> dict[int, int]:
    """Current units of these products, with their rows locked until commit."""
    held: dict[int, int] = {}
    for start in range(0, len(product_ids), _CHUNK):
        chunk = product_ids[start : start + _CHUNK]
        held.update(
            db.session.execute(
                select(StockLevel.product_id, StockLevel.quantity)
                .where(StockLevel.store_id == store_id, StockLevel.product_id.in_(chunk))
                .order_by(StockLevel.product_id)
                .with_for_update()
            ).all()
        )
    return held


def mark_failed(stock_take_id: int, reason: str) -> None:
    db.session.rollback()
    stock_take = db.session.get(StockTake, stock_take_id)
    if stock_take is not None and stock_take.status == StockTakeStatus.PENDING:
        stock_take.status = StockTakeStatus.FAILED
        stock_take.error = reason[:2000]
        db.session.commit()
