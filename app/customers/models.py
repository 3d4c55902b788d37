"""Customers, with running totals kept in the same transaction as each purchase."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime


class Customer(TimestampMixin, db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("total_spent_idr >= 0", name="total_spent_not_negative"),
        CheckConstraint("purchase_count >= 0", name="purchase_count_not_negative"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # Normalized to digits with a leading country code (62...), unique when set.
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    note: Mapped[str | None] = mapped_column(String(500))
    purchase_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_spent_idr: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
