"""Payment attempts at Midtrans, the notifications Midtrans sent, and money events.

Each attempt has its own Midtrans `order_id` (the order's UUID plus the
attempt number): Midtrans never accepts an order_id twice. Attempt status
moves only forward (see `payments.states`).
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime, one_of, utcnow


class AttemptStatus(StrEnum):
    CREATING = "creating"
    PENDING = "pending"
    PAID = "paid"
    CHALLENGE = "challenge"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class WebhookState(StrEnum):
    """How a Midtrans notification was handled."""

    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"
    REJECTED = "rejected"
    INVALID = "invalid"


ATTEMPT_STATUSES = tuple(AttemptStatus)
WEBHOOK_STATES = tuple(WebhookState)


class PaymentAttempt(TimestampMixin, db.Model):
    __tablename__ = "payment_attempts"
    __table_args__ = (
        CheckConstraint(one_of("status", ATTEMPT_STATUSES), name="status_known"),
        CheckConstraint("amount_idr > 0", name="amount_positive"),
        CheckConstraint("refunded_idr >= 0 AND refunded_idr <= amount_idr", name="refund_within_amount"),
        Index("uq_payment_attempts_order_attempt", "order_id", "attempt_no", unique=True),
        Index("ix_payment_attempts_status_updated", "status", "updated_at"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    midtrans_order_id: Mapped[str] = mapped_column(String(50), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.CREATING)
    amount_idr: Mapped[int] = mapped_column(BigInteger)
    snap_token: Mapped[str | None] = mapped_column(String(100))
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # What Midtrans last said, for support and audits.
    transaction_status: Mapped[str | None] = mapped_column(String(32))
    fraud_status: Mapped[str | None] = mapped_column(String(16))
    payment_type: Mapped[str | None] = mapped_column(String(32))
    midtrans_transaction_id: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookLog(db.Model):
    """Every notification as received, stored before anything else is done with it."""

    __tablename__ = "webhook_logs"
    __table_args__ = (
        CheckConstraint(one_of("processing_status", WEBHOOK_STATES), name="processing_status_known"),
        Index("ix_webhook_logs_status_received", "processing_status", "received_at"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    headers: Mapped[dict] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    midtrans_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    transaction_status: Mapped[str | None] = mapped_column(String(32))
    signature_valid: Mapped[bool | None] = mapped_column(Boolean)
    processing_status: Mapped[str] = mapped_column(String(16), default=WebhookState.RECEIVED)
    outcome: Mapped[str | None] = mapped_column(String(500))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class PaymentEvent(db.Model):
    """Money moving after payment: refunds, chargebacks, reversals, payments that arrived too late."""

    __tablename__ = "payment_events"
    __table_args__ = NO_ID_REUSE

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_idr: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
