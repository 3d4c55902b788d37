"""Outlets. One default store exists from the first migration (CONTRACT.md section 5)."""

from sqlalchemy import Boolean, CheckConstraint, Integer, String, false, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin

DEFAULT_STORE_CODE = "main"


class Store(TimestampMixin, db.Model):
    """An outlet, with what its receipts say and how its totals are taxed.

    Rates are basis points (1100 = 11%) so they stay exact integers.
    """

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("tax_rate_bp BETWEEN 0 AND 10000", name="tax_rate_range"),
        CheckConstraint("service_charge_bp BETWEEN 0 AND 10000", name="service_charge_range"),
        CheckConstraint("cashier_discount_limit_bp BETWEEN 0 AND 10000", name="discount_limit_range"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    tax_id: Mapped[str | None] = mapped_column(String(32))  # NPWP
    receipt_header: Mapped[str | None] = mapped_column(String(255))
    receipt_footer: Mapped[str | None] = mapped_column(String(255))
    # Off by default: a fresh store's totals are plain sums (CONTRACT.md section 2).
    tax_name: Mapped[str] = mapped_column(String(16), default="PPN", server_default="PPN")
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    service_charge_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Discounts above this share of a sale's subtotal need a supervisor when a cashier gives them.
    cashier_discount_limit_bp: Mapped[int] = mapped_column(Integer, default=1000, server_default="1000")


def default_store():
    """The store the API works on until multi-outlet endpoints exist."""
    return db.session.scalars(select(Store).where(Store.code == DEFAULT_STORE_CODE)).one()
