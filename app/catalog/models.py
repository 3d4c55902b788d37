"""What the shop sells: categories and products.

Products and categories belong to the whole business; how many units a store
holds lives in `inventory.StockLevel`, per store and product.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, func, true
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime, one_of


class ImportStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Category(TimestampMixin, db.Model):
    __tablename__ = "categories"
    __table_args__ = (Index("uq_categories_name_lower", func.lower("name"), unique=True), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(255))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Product(TimestampMixin, db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_idr >= 0", name="price_not_negative"),
        CheckConstraint("cost_idr IS NULL OR cost_idr >= 0", name="cost_not_negative"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    price_idr: Mapped[int] = mapped_column(BigInteger)
    cost_idr: Mapped[int | None] = mapped_column(BigInteger)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    category: Mapped[Category | None] = relationship(lazy="joined")
    # Units at the store being asked about, filled in by the query that loads
    # the product (`inventory.services.with_stock`).
    stock: Mapped[int | None] = query_expression()


class ProductImport(TimestampMixin, db.Model):
    """A CSV of products uploaded by a manager, applied by a Celery task."""

    __tablename__ = "product_imports"
    __table_args__ = (CheckConstraint(one_of("status", ImportStatus), name="status_known"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.PENDING)
    filename: Mapped[str | None] = mapped_column(String(255))
    # The decoded upload: workers may run on other machines than the API.
    content: Mapped[str] = mapped_column(Text, deferred=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    # One entry per rejected row: {"row": 7, "sku": "...", "errors": {"field": ["..."]}}.
    row_errors: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
