"""Counter sales: the sale, its lines and tenders, refunds, numbering, parked carts.

Amounts are integer rupiah. For each sale:

    subtotal_idr  = sum of lines' unit price x qty
    discount_idr  = line discounts + the sale discount
    total_idr     = subtotal - discount + service charge + tax (tax added only when exclusive)
    paid_idr      = sum of tenders;  change_idr = paid - total (cash only)

Each line keeps its share of the sale discount and of the total
(`total_share_idr`), which is what a refund of that line gives back.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime, one_of, utcnow
from app.sales.statuses import SaleStatus, Tender

TENDERS = tuple(Tender)
SALE_STATUSES = tuple(SaleStatus)

_BIGINT_ID = BigInteger().with_variant(Integer, "sqlite")



class Sale(db.Model):
    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("store_id", "number", name="uq_sales_store_number"),
        CheckConstraint(one_of("status", SALE_STATUSES), name="status_known"),
        CheckConstraint("subtotal_idr >= 0 AND discount_idr >= 0 AND discount_idr <= subtotal_idr", name="amounts_valid"),
        CheckConstraint("tax_idr >= 0 AND service_charge_idr >= 0 AND total_idr >= 0", name="totals_not_negative"),
        CheckConstraint("paid_idr >= total_idr AND change_idr = paid_idr - total_idr", name="fully_paid"),
        CheckConstraint("refunded_idr >= 0 AND refunded_idr <= total_idr", name="refund_within_total"),
        Index("ix_sales_store_created", "store_id", "created_at"),
        Index("ix_sales_store_business_date", "store_id", "business_date"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    number: Mapped[str] = mapped_column(String(32))
    # The store's local date: what the number, the day's reports and the struk say.
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=SaleStatus.COMPLETED)
    cashier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    subtotal_idr: Mapped[int] = mapped_column(BigInteger)
    line_discount_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    sale_discount_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_idr: Mapped[int] = mapped_column(BigInteger)
    service_charge_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    # Settings the totals were computed with, for the receipt and audits.
    tax_name: Mapped[str | None] = mapped_column(String(16))
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    service_charge_bp: Mapped[int] = mapped_column(Integer, default=0)
    total_idr: Mapped[int] = mapped_column(BigInteger)
    paid_idr: Mapped[int] = mapped_column(BigInteger)
    change_idr: Mapped[int] = mapped_column(BigInteger)
    refunded_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(String(255))
    discount_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    receipt_prints: Mapped[int] = mapped_column(Integer, default=0)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list["SaleItem"]] = relationship(order_by="SaleItem.id", lazy="selectin")
    payments: Mapped[list["SalePayment"]] = relationship(order_by="SalePayment.id", lazy="selectin")
    cashier = relationship("User", foreign_keys=[cashier_id], lazy="joined")
    customer = relationship("Customer", lazy="joined")


class SaleItem(db.Model):
    __tablename__ = "sale_items"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("refunded_qty >= 0 AND refunded_qty <= qty", name="refund_within_qty"),
        CheckConstraint("line_discount_idr >= 0 AND sale_discount_share_idr >= 0", name="discounts_not_negative"),
        CheckConstraint("total_share_idr >= 0", name="share_not_negative"),
        Index("ix_sale_items_product", "product_id"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # What the product was called and cost when sold; the catalog may change later.
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_idr: Mapped[int] = mapped_column(BigInteger)
    line_discount_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    sale_discount_share_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    # This line's part of the sale's total (after discounts, with service and tax).
    total_share_idr: Mapped[int] = mapped_column(BigInteger)
    refunded_qty: Mapped[int] = mapped_column(Integer, default=0)
    refunded_idr: Mapped[int] = mapped_column(BigInteger, default=0)


class SalePayment(db.Model):
    __tablename__ = "sale_payments"
    __table_args__ = (
        CheckConstraint(one_of("method", TENDERS), name="method_known"),
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount_idr: Mapped[int] = mapped_column(BigInteger)
    # Card approval code, QRIS or transfer reference, as typed or scanned at the till.
    reference: Mapped[str | None] = mapped_column(String(64))


class SaleCounter(db.Model):
    """The last sale number given out per store and day (SQLite only; PostgreSQL uses sequences)."""

    __tablename__ = "sale_counters"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_idr >= 0", name="amount_not_negative"),
        CheckConstraint(one_of("method", TENDERS), name="method_known"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    amount_idr: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    restocked: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    items: Mapped[list["RefundItem"]] = relationship(lazy="selectin", order_by="RefundItem.id")


class RefundItem(db.Model):
    __tablename__ = "refund_items"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    sale_item_id: Mapped[int] = mapped_column(ForeignKey("sale_items.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
    amount_idr: Mapped[int] = mapped_column(BigInteger)


class Cart(TimestampMixin, db.Model):
    """A parked cart: the till's screen saved so the queue can move, resumed on any till."""

    __tablename__ = "carts"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    # The checkout request as it stood: items, customer, discounts, note.
    content: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
