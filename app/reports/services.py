"""Reports: closed days from the nightly summaries, today (and any day not built yet) live.

Every figure comes from `daily.compute_day`, either stored by
`summaries.build_day` or computed on the spot, so the two always agree to
the rupiah.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, select

from app.catalog.models import Product
from app.domain import Invalid
from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.reports.daily import SALES_FIELDS, compute_day, store_zone, today
from app.reports.models import DailyCashier, DailyProduct, DailySales, DailyTender, SummaryDay
from app.sales.models import Sale
from app.users.models import User

MAX_RANGE_DAYS = 366


def check_range(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise Invalid("date_from must not be after date_to.",
                      errors={"query": {"date_from": ["After date_to."]}})
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(f"At most {MAX_RANGE_DAYS} days per request; split the range.",
                      errors={"query": {"date_to": [f"More than {MAX_RANGE_DAYS} days after date_from."]}})


def _built_days(store_id: int, date_from: date, date_to: date) -> set[date]:
    return set(db.session.scalars(
        select(SummaryDay.business_date).where(SummaryDay.store_id == store_id,
                                               SummaryDay.business_date.between(date_from, date_to))))


def _days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def _live_days(store_id: int, date_from: date, date_to: date) -> list[date]:
    """Days of the range that must be computed from raw rows: today, and closed days not built."""
    built = _built_days(store_id, date_from, date_to)
    last = min(date_to, today())
    return [day for day in _days(date_from, last) if day not in built]


# The sales report


def _period_key(day: date, group_by: str) -> tuple[str, date, date]:
    if group_by == "week":
        year, week, _ = day.isocalendar()
        start = day - timedelta(days=day.weekday())
        return f"{year}-W{week:02d}", start, start + timedelta(days=6)
    if group_by == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return f"{day:%Y-%m}", start, end
    return day.isoformat(), day, day


def _with_averages(values: Mapping[str, int]) -> dict[str, int]:
    count = values["sales_count"]
    return {**values, "net_after_refunds_idr": values["net_idr"] - values["refunds_idr"],
            "average_basket_idr": (2 * values["net_idr"] + count) // (2 * count) if count else 0}


def _combined(channels: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    return {field: channels["pos"][field] + channels["online"][field] for field in SALES_FIELDS}


def sales_report(store_id: int, date_from: date, date_to: date, group_by: str = "day") -> dict[str, Any]:
    check_range(date_from, date_to)
    per_day: dict[date, dict[str, dict[str, int]]] = {}
    tenders: dict[str, list[int]] = {}
    cashiers: dict[int, list[int]] = {}
    for row in db.session.scalars(select(DailySales).where(
            DailySales.store_id == store_id, DailySales.business_date.between(date_from, date_to))):
        per_day.setdefault(row.business_date, {})[row.channel] = {f: getattr(row, f) for f in SALES_FIELDS}
    for method, amount, count in db.session.execute(
        select(DailyTender.method, func.sum(DailyTender.amount_idr), func.sum(DailyTender.payments_count))
        .where(DailyTender.store_id == store_id, DailyTender.business_date.between(date_from, date_to))
        .group_by(DailyTender.method)
    ):
        _accumulate(tenders, method, int(amount), int(count))
    for cashier_id, count, net in db.session.execute(
        select(DailyCashier.cashier_id, func.sum(DailyCashier.sales_count), func.sum(DailyCashier.net_idr))
        .where(DailyCashier.store_id == store_id, DailyCashier.business_date.between(date_from, date_to))
        .group_by(DailyCashier.cashier_id)
    ):
        _accumulate(cashiers, cashier_id, int(count), int(net))

    for day in _live_days(store_id, date_from, date_to):
        figures = compute_day(store_id, day)
        per_day[day] = figures.sales
        for method, (amount, count) in figures.tenders.items():
            _accumulate(tenders, method, amount, count)
        for cashier_id, (count, net) in figures.cashiers.items():
            _accumulate(cashiers, cashier_id, count, net)

    periods: dict[str, dict[str, Any]] = {}
    totals = {"pos": dict.fromkeys(SALES_FIELDS, 0), "online": dict.fromkeys(SALES_FIELDS, 0)}
    for day in sorted(per_day):
        key, start, end = _period_key(day, group_by)
        period = periods.setdefault(key, {"period": key, "start": max(start, date_from), "end": min(end, date_to),
                                          "pos": dict.fromkeys(SALES_FIELDS, 0), "online": dict.fromkeys(SALES_FIELDS, 0)})
        for channel in ("pos", "online"):
            for field in SALES_FIELDS:
                value = per_day[day].get(channel, {}).get(field, 0)
                period[channel][field] += value
                totals[channel][field] += value

    names = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(cashiers))))} if cashiers else {}
    return {
        "date_from": date_from,
        "date_to": date_to,
        "group_by": group_by,
        "timezone": str(store_zone()),
        "totals": {"pos": _with_averages(totals["pos"]), "online": _with_averages(totals["online"]),
                   "all": _with_averages(_combined(totals))},
        "periods": [
            {**p, "pos": _with_averages(p["pos"]), "online": _with_averages(p["online"]),
             "all": _with_averages(_combined(p))}
            for p in periods.values()
        ],
        "tenders": [{"method": m, "amount_idr": a, "payments_count": c} for m, (a, c) in sorted(tenders.items())],
        "cashiers": [
            {"cashier_id": uid, "username": names[uid].username if uid in names else None,
             "full_name": names[uid].full_name if uid in names else None, "sales_count": c, "net_idr": n}
            for uid, (c, n) in sorted(cashiers.items(), key=lambda item: -item[1][1])
        ],
    }


def _accumulate(bucket: dict[Any, list[int]], key: object, first: int, second: int) -> None:
    totals = bucket.setdefault(key, [0, 0])
    totals[0] += first
    totals[1] += second


# Best sellers


def best_sellers(store_id: int, date_from: date, date_to: date, by: str = "qty", category_id: int | None = None,
                 limit: int = 20) -> list[dict[str, Any]]:
    check_range(date_from, date_to)
    totals: dict[int, list[int]] = {}
    for product_id, qty, revenue in db.session.execute(
        select(DailyProduct.product_id, func.sum(DailyProduct.qty), func.sum(DailyProduct.revenue_idr))
        .where(DailyProduct.store_id == store_id, DailyProduct.business_date.between(date_from, date_to))
        .group_by(DailyProduct.product_id)
    ):
        _accumulate(totals, product_id, int(qty), int(revenue))
    for day in _live_days(store_id, date_from, date_to):
        for product_id, (qty, revenue) in compute_day(store_id, day).products.items():
            _accumulate(totals, product_id, qty, revenue)
    if not totals:
        return []
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(totals))))}
    rows = [
        {"product_id": pid, "sku": products[pid].sku, "name": products[pid].name,
         "category_id": products[pid].category_id,
         "category_name": products[pid].category.name if products[pid].category else None,  # type: ignore[union-attr]  # narrowed by the test; mypy does not narrow through an index
         "qty": qty, "revenue_idr": revenue}
        for pid, (qty, revenue) in totals.items()
        if pid in products and (category_id is None or products[pid].category_id == category_id) and (qty or revenue)
    ]
    rank = (lambda r: (-r["qty"], -r["revenue_idr"], r["name"])) if by == "qty" else (
        lambda r: (-r["revenue_idr"], -r["qty"], r["name"]))
    return sorted(rows, key=rank)[:limit]


# Dashboard


def dashboard(store_id: int) -> dict[str, Any]:
    from app.catalog.services import low_stock_query

    now = datetime.now(timezone.utc)
    day = today()
    last_week = day - timedelta(days=7)
    today_figures = compute_day(store_id, day).sales
    then = compute_day(store_id, last_week, until=now - timedelta(days=7)).sales
    today_all, then_all = _with_averages(_combined(today_figures)), _with_averages(_combined(then))
    still_open = (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY)
    open_orders = dict(db.session.execute(
        select(Order.status, func.count()).where(Order.store_id == store_id, Order.status.in_(still_open))
        .group_by(Order.status)).all())
    low_stock_count = db.session.scalar(select(func.count()).select_from(low_stock_query(store_id).order_by(None).subquery()))
    last_sales = db.session.scalars(
        select(Sale).where(Sale.store_id == store_id).order_by(Sale.id.desc()).limit(5)).all()
    return {
        "date": day,
        "today": {"pos": _with_averages(today_figures["pos"]), "online": _with_averages(today_figures["online"]),
                  "all": today_all},
        "same_weekday_last_week": {"date": last_week, "until": now - timedelta(days=7), "all": then_all},
        "net_change_percent": _change(today_all["net_idr"], then_all["net_idr"]),
        "open_orders": {status: open_orders.get(status, 0) for status in ("pending", "paid", "preparing", "ready")},
        "low_stock_count": low_stock_count,
        "last_sales": [
            {"id": s.id, "number": s.number, "status": s.status, "total_idr": s.total_idr, "created_at": s.created_at,
             "cashier": s.cashier.username}
            for s in last_sales
        ],
    }


def _change(now_value: int, then_value: int) -> float | None:
    if not then_value:
        return None
    return round((now_value - then_value) * 100 / then_value, 1)


def low_stock(store_id: int) -> Select[Product]:
    from app.catalog.services import low_stock_query

    return low_stock_query(store_id)
