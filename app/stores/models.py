"""Outlets. One default store exists from the first migration (CONTRACT.md section 5)."""

from sqlalchemy import Boolean, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import TimestampMixin

DEFAULT_STORE_CODE = "main"


class Store(TimestampMixin, db.Model):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


def default_store():
    """The store the API works on until multi-outlet endpoints exist."""
    return db.session.scalars(select(Store).where(Store.code == DEFAULT_STORE_CODE)).one()
