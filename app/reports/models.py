"""Per-day summaries of closed business days, and background exports.

A day's summary rows are rebuilt whole (deleted and written again in one
transaction), so building a day twice gives the same rows. `SummaryDay`
records which days were built: reports read summaries for those and compute
everything else (today, or a day not built yet) from the raw rows.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import NO_ID_REUSE, UTCDateTime, one_of, utcnow


class Channel(StrEnum):
    """Where a sale was made: at the till or through the online menu."""

    POS = "pos"
    ONLINE = "online"


class ExportReport(StrEnum):
    SALES_DETAIL = "sales_detail"
    ITEMS_SOLD = "items_sold"
    STOCK_MOVEMENTS = "stock_movements"
    BEST_SELLERS = "best_sellers"


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


CHANNELS = tuple(Channel)
EXPORT_REPORTS = tuple(ExportReport)
EXPORT_STATUSES = tuple(ExportStatus)


class SummaryDay(db.Model):
    __tablename__ = "summary_days"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailySales(db.Model):
    """One store, day and channel: what was sold and refunded."""

    __tablename__ = "daily_sales"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    sales_count: Mapped[int] = mapped_column(Integer, default=0)
    items_sold: Mapped[int] = mapped_column(BigInteger, default=0)
    gross_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    service_charge_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    net_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_idr: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyTender(db.Model):
    __tablename__ = "daily_tenders"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    method: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount_idr: Mapped[int] = mapped_column(BigInteger, default=0)
    payments_count: Mapped[int] = mapped_column(Integer, default=0)


class DailyCashier(db.Model):
    __tablename__ = "daily_cashiers"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    cashier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sales_count: Mapped[int] = mapped_column(Integer, default=0)
    net_idr: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyProduct(db.Model):
    """Units and revenue per product and day, net of refunds: what best sellers read."""

    __tablename__ = "daily_products"
    __table_args__ = (Index("ix_daily_products_store_date", "store_id", "business_date"),)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    qty: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_idr: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportExport(db.Model):
    __tablename__ = "report_exports"
    __table_args__ = (
        CheckConstraint(one_of("status", EXPORT_STATUSES), name="status_known"),
        CheckConstraint("format IN ('csv', 'xlsx')", name="format_known"),
        Index("ix_report_exports_status_created", "status", "created_at"),
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    report: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ExportStatus.PENDING)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
