"""Online orders from the public menu.

An order reserves its stock when it is placed (`online_order` movements) and
gives it back once (`order_release`) if it expires, fails or is cancelled;
`stock_reserved` is cleared by the same conditional update that releases.

Order status moves only forward:

    pending -> paid -> preparing -> ready -> completed
    pending -> expired | cancelled | failed
    paid, preparing, ready -> cancelled (refunded through Midtrans)
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime, one_of


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PREPARING = "preparing"
    READY = "ready"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class PaymentStatus(StrEnum):
    """An order's payment: its latest attempt's status, or `none` before the first attempt."""

    NONE = "none"
    CREATING = "creating"
    PENDING = "pending"
    PAID = "paid"
    CHALLENGE = "challenge"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


ORDER_STATUSES = tuple(OrderStatus)
FULFILMENT: dict[str, OrderStatus] = {  # keyed by what the status column holds
    OrderStatus.PAID: OrderStatus.PREPARING,
    OrderStatus.PREPARING: OrderStatus.READY,
    OrderStatus.READY: OrderStatus.COMPLETED,
}
PAYMENT_STATUSES = tuple(PaymentStatus)
# Closed before being paid: a payment that still arrives must be refunded.
CLOSED_UNPAID = (OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.FAILED)


class Order(TimestampMixin, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(one_of("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint(one_of("payment_status", PAYMENT_STATUSES), name="payment_status_known"),
        CheckConstraint("total_idr > 0 AND subtotal_idr >= 0", name="amounts_valid"),
        CheckConstraint("refunded_idr >= 0 AND refunded_idr <= total_idr", name="refund_within_total"),
        Index("ix_orders_store_status_expires", "store_id", "status", "expires_at"),
        Index("ix_orders_store_created", "store_id", "created_at"),
        Index("ix_orders_store_paid", "store_id", "paid_at"),
        # Unpaid orders per client address (app/orders/holds.py).
        Index("ix_orders_client_address_status", "client_address", "status"),
    )

    # Unguessable: holding the id is what lets a customer pay and follow the order.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    payment_status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.NONE)
    customer_name: Mapped[str] = mapped_column(String(120))
    customer_phone: Mapped[str] = mapped_column(String(20), index=True)
    # Who placed it (app.extensions.client_address); null for orders placed before it was kept.
    client_address: Mapped[str | None] = mapped_column(String(64))
    customer_email: Mapped[str | None] = mapped_column(String(254))
    # Linked when the order is paid (customers are not created for unpaid orders).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    subtotal_idr: Mapped[int] = mapped_column(BigInteger)
    service_charge_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_name: Mapped[str | None] = mapped_column(String(16))
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    total_idr: Mapped[int] = mapped_column(BigInteger)
    refunded_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    stock_reserved: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(255))

    items: Mapped[list["OrderItem"]] = relationship(order_by="OrderItem.id", lazy="selectin")


class OrderItem(db.Model):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_idr: Mapped[int] = mapped_column(BigInteger)
    line_total_idr: Mapped[int] = mapped_column(BigInteger)
