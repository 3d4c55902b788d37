"""Stock as a ledger: levels per store and product, and every movement that changed them.

The invariant: a level's `quantity` equals the sum of its movements' `delta`,
and each movement's `balance_after` is the quantity right after it. Only
`inventory.services.apply_stock_changes` writes either table.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime, one_of, utcnow
from app.users.models import User


class Reason(StrEnum):
    """Why stock moved. Purchases and adjustments are entered by people (MANUAL_REASONS);
    the rest are written by the features they name."""

    INITIAL = "initial"
    PURCHASE = "purchase"
    ADJUSTMENT = "adjustment"
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    ONLINE_ORDER = "online_order"
    ORDER_RELEASE = "order_release"
    STOCK_TAKE = "stock_take"


class StockTakeStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"


REASONS = tuple(Reason)
MANUAL_REASONS = (Reason.PURCHASE, Reason.ADJUSTMENT)


class StockLevel(db.Model):
    __tablename__ = "stock_levels"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True, index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StockMovement(db.Model):
    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_not_negative"),
        CheckConstraint(
            one_of("reason", REASONS),
            name="reason_known",
        ),
        Index("ix_stock_movements_product_store_id", "product_id", "store_id", "id"),
        Index("ix_stock_movements_reference", "reference"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    delta: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    # What caused it, as "kind:id" (for example "sale:42", "stock_take:7").
    reference: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user: Mapped[User | None] = relationship(lazy="joined")


class StockTake(TimestampMixin, db.Model):
    """A count of the shelves; the differences are applied by a Celery task."""

    __tablename__ = "stock_takes"
    __table_args__ = (
        CheckConstraint(one_of("status", StockTakeStatus), name="status_known"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(String(16), default=StockTakeStatus.PENDING)
    note: Mapped[str | None] = mapped_column(String(255))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list["StockTakeLine"]] = relationship(
        back_populates="stock_take", order_by="StockTakeLine.product_id", cascade="all, delete-orphan"
    )


class StockTakeLine(db.Model):
    __tablename__ = "stock_take_lines"
    __table_args__ = (CheckConstraint("counted >= 0", name="counted_not_negative"),)

    stock_take_id: Mapped[int] = mapped_column(ForeignKey("stock_takes.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    counted: Mapped[int] = mapped_column(Integer)
    # Filled when applied: what the system held then, and the correction made.
    expected: Mapped[int | None] = mapped_column(Integer)
    difference: Mapped[int | None] = mapped_column(Integer)

    stock_take: Mapped[StockTake] = relationship(back_populates="lines")
