"""What one business day sold, computed from the raw rows; the nightly summaries store exactly this.

Definitions, the same for live figures and stored summaries:

- A POS sale counts on its business date unless voided. gross = subtotal
  (before discounts); discount = line and sale discounts; net = the total
  the customer paid (after discounts, with service charge and tax).
- An online order counts on the store-local date it was paid, whatever
  happened to it later.
- Refunds count on the day they were made (POS refunds; online refunds,
  manual refunds, chargebacks and reversals recorded as payment events), so a closed
  day never changes afterwards.
- Tenders are what was collected per method, net of change given and of
  refunds paid out that day. Online payments appear as `online_<payment type>`.
- Products: units and revenue (each line's share of the total) sold that
  day, less what was refunded that day.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, Row, func, select

from app.extensions import db
from app.orders.models import Order, OrderItem, OrderStatus
from app.payments.models import PaymentAttempt, PaymentEvent
from app.sales.models import Refund, RefundItem, Sale, SaleItem, SalePayment
from app.reports.models import Channel
from app.sales.pricing import share_out
from app.sales.statuses import SaleStatus, Tender

SALES_FIELDS = ("sales_count", "items_sold", "gross_idr", "discount_idr", "service_charge_idr", "tax_idr",
                "net_idr", "refunds_idr")
REFUND_EVENTS = ("refund", "manual_refund", "chargeback", "reversed")


@dataclass
class DayFigures:
    sales: dict[str, dict[str, int]] = field(default_factory=dict)      # channel -> {field: int}
    tenders: dict[str, list[int]] = field(default_factory=dict)    # method -> [amount_idr, payments_count]
    cashiers: dict[int, list[int]] = field(default_factory=dict)   # cashier_id -> [sales_count, net_idr]
    products: dict[int, list[int]] = field(default_factory=dict)   # product_id -> [qty, revenue_idr]


def store_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["STORE_TIMEZONE"])


def today() -> date:
    """The store's business day now."""
    return datetime.now(store_zone()).date()


def utc_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where the store's local `day` starts and ends."""
    zone = store_zone()
    start = datetime.combine(day, time.min, zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, zone)


def _blank() -> dict[str, int]:
    return dict.fromkeys(SALES_FIELDS, 0)


def compute_day(store_id: int, day: date, until: datetime | None = None) -> DayFigures:
    """The day's figures from the raw rows; `until` (UTC) cuts the day short (the dashboard's "so far")."""
    start, end = utc_bounds(day)
    if until is not None:
        end = min(end, until)
    figures = DayFigures(sales={Channel.POS: _blank(), Channel.ONLINE: _blank()})
    _pos_sales(figures, store_id, day, end)
    _pos_refunds(figures, store_id, start, end)
    _online(figures, store_id, start, end)
    return figures


def _kept_sales(store_id: int, day: date, end: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Sale.store_id == store_id, Sale.business_date == day, Sale.status != SaleStatus.VOIDED, Sale.created_at < end)


def _pos_sales(figures: DayFigures, store_id: int, day: date, end: datetime) -> None:
    kept = _kept_sales(store_id, day, end)
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Sale.subtotal_idr), 0), func.coalesce(func.sum(Sale.discount_idr), 0),
               func.coalesce(func.sum(Sale.service_charge_idr), 0), func.coalesce(func.sum(Sale.tax_idr), 0),
               func.coalesce(func.sum(Sale.total_idr), 0), func.coalesce(func.sum(Sale.change_idr), 0)).where(*kept)
    ).one()
    pos = figures.sales[Channel.POS]
    pos["sales_count"], pos["gross_idr"], pos["discount_idr"] = row[0], int(row[1]), int(row[2])
    pos["service_charge_idr"], pos["tax_idr"], pos["net_idr"] = int(row[3]), int(row[4]), int(row[5])
    change_given = int(row[6])

    for product_id, qty, revenue in db.session.execute(
        select(SaleItem.product_id, func.sum(SaleItem.qty), func.sum(SaleItem.total_share_idr))
        .join(Sale, Sale.id == SaleItem.sale_id).where(*kept).group_by(SaleItem.product_id)
    ):
        pos["items_sold"] += int(qty)
        _add(figures.products, product_id, int(qty), int(revenue))

    for method, count, amount in db.session.execute(
        select(SalePayment.method, func.count(), func.sum(SalePayment.amount_idr))
        .join(Sale, Sale.id == SalePayment.sale_id).where(*kept).group_by(SalePayment.method)
    ):
        _add(figures.tenders, method, int(amount) - (change_given if method == Tender.CASH else 0), int(count))

    for cashier_id, count, net in db.session.execute(
        select(Sale.cashier_id, func.count(), func.sum(Sale.total_idr)).where(*kept).group_by(Sale.cashier_id)
    ):
        _add(figures.cashiers, cashier_id, int(count), int(net))


def _pos_refunds(figures: DayFigures, store_id: int, start: datetime, end: datetime) -> None:
    in_day = (Refund.store_id == store_id, Refund.created_at >= start, Refund.created_at < end)
    for method, amount in db.session.execute(
        select(Refund.method, func.sum(Refund.amount_idr)).where(*in_day).group_by(Refund.method)
    ):
        figures.sales[Channel.POS]["refunds_idr"] += int(amount)
        _add(figures.tenders, method, -int(amount), 0)
    for product_id, qty, amount in db.session.execute(
        select(RefundItem.product_id, func.sum(RefundItem.qty), func.sum(RefundItem.amount_idr))
        .join(Refund, Refund.id == RefundItem.refund_id).where(*in_day).group_by(RefundItem.product_id)
    ):
        _add(figures.products, product_id, -int(qty), -int(amount))


def _online(figures: DayFigures, store_id: int, start: datetime, end: datetime) -> None:
    paid = (Order.store_id == store_id, Order.paid_at >= start, Order.paid_at < end)
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Order.subtotal_idr), 0), func.coalesce(func.sum(Order.service_charge_idr), 0),
               func.coalesce(func.sum(Order.tax_idr), 0), func.coalesce(func.sum(Order.total_idr), 0)).where(*paid)
    ).one()
    online = figures.sales[Channel.ONLINE]
    online["sales_count"], online["gross_idr"] = row[0], int(row[1])
    online["service_charge_idr"], online["tax_idr"], online["net_idr"] = int(row[2]), int(row[3]), int(row[4])

    for product_id, qty, revenue in _order_lines(*paid):
        online["items_sold"] += qty
        _add(figures.products, product_id, qty, revenue)

    for payment_type, count, amount in db.session.execute(
        select(PaymentAttempt.payment_type, func.count(), func.sum(PaymentAttempt.amount_idr))
        .join(Order, Order.id == PaymentAttempt.order_id)
        .where(*paid, PaymentAttempt.paid_at.is_not(None))
        .group_by(PaymentAttempt.payment_type)
    ):
        _add(figures.tenders, f"online_{payment_type or 'unknown'}", int(amount), int(count))

    for payment_type, refunded in db.session.execute(
        select(PaymentAttempt.payment_type, func.sum(PaymentEvent.amount_idr))
        .join(PaymentAttempt, PaymentAttempt.id == PaymentEvent.attempt_id)
        .join(Order, Order.id == PaymentAttempt.order_id)
        .where(Order.store_id == store_id, PaymentEvent.kind.in_(REFUND_EVENTS),
               PaymentEvent.created_at >= start, PaymentEvent.created_at < end)
        .group_by(PaymentAttempt.payment_type)
    ):
        online["refunds_idr"] += int(refunded or 0)
        _add(figures.tenders, f"online_{payment_type or 'unknown'}", -int(refunded or 0), 0)

    # Paid orders cancelled (and refunded) that day give their units back.
    for product_id, qty, revenue in _order_lines(Order.store_id == store_id, Order.status == OrderStatus.CANCELLED,
                                                 Order.paid_at.is_not(None), Order.cancelled_at >= start,
                                                 Order.cancelled_at < end):
        _add(figures.products, product_id, -qty, -revenue)


def _order_lines(*where: ColumnElement[bool]) -> Iterator[tuple[int, int, int]]:
    """(product_id, qty, share of the order's total) for each line of the orders matching `where`.

    An order line stores its price before service charge and tax; its revenue is its share of
    the total, shared out as a sale's lines are, so online and POS revenue mean the same thing.
    """
    by_order: dict[uuid.UUID, list[Row[uuid.UUID, int, int, int, int]]] = {}
    for line in db.session.execute(
        select(OrderItem.order_id, OrderItem.product_id, OrderItem.qty, OrderItem.line_total_idr, Order.total_idr)
        .join(Order, Order.id == OrderItem.order_id).where(*where).order_by(OrderItem.order_id, OrderItem.id)
    ):
        by_order.setdefault(line.order_id, []).append(line)
    for lines in by_order.values():
        shares = share_out(int(lines[0].total_idr), [int(line.line_total_idr) for line in lines])
        for line, share in zip(lines, shares):
            yield line.product_id, int(line.qty), share


def _add(bucket: dict[Any, list[int]], key: object, first: int, second: int) -> None:
    totals = bucket.setdefault(key, [0, 0])
    totals[0] += first
    totals[1] += second
