"""The nightly summaries: each closed day's figures (`daily.compute_day`) stored for the reports."""

import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from app.extensions import db
from app.models import utcnow
from app.reports.daily import compute_day, today
from app.reports.models import DailyCashier, DailyProduct, DailySales, DailyTender, SummaryDay

log = logging.getLogger(__name__)


def build_day(store_id: int, day: date) -> None:
    """Store the day's figures, replacing any earlier build (one transaction). Only closed days."""
    if day >= today():
        raise ValueError(f"{day} is not closed yet; summaries are built for past days only")
    figures = compute_day(store_id, day)
    key = {"store_id": store_id, "business_date": day}
    for model in (DailySales, DailyTender, DailyCashier, DailyProduct, SummaryDay):
        db.session.execute(delete(model).where(model.store_id == store_id, model.business_date == day))
    db.session.execute(insert(DailySales), [
        {**key, "channel": channel, **values} for channel, values in figures.sales.items()
    ])
    _insert_many(DailyTender, [{**key, "method": m, "amount_idr": a, "payments_count": c}
                               for m, (a, c) in figures.tenders.items()])
    _insert_many(DailyCashier, [{**key, "cashier_id": u, "sales_count": c, "net_idr": n}
                                for u, (c, n) in figures.cashiers.items()])
    _insert_many(DailyProduct, [{**key, "product_id": p, "qty": q, "revenue_idr": r}
                                for p, (q, r) in figures.products.items() if q or r])
    db.session.add(SummaryDay(store_id=store_id, business_date=day, built_at=utcnow()))
    db.session.commit()
    log.info("daily_summary_built store_id=%s day=%s", store_id, day)


def _insert_many(model: type[Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        db.session.execute(insert(model), rows)


def build_range(store_id: int, date_from: date, date_to: date) -> int:
    """Build every closed day in the range; returns how many."""
    day, built = date_from, 0
    last = min(date_to, today() - timedelta(days=1))
    while day <= last:
        build_day(store_id, day)
        day += timedelta(days=1)
        built += 1
    return built


def build_recent(store_id: int, days: int = 7) -> list[str]:
    """Yesterday, and any of the last `days` closed days not built yet (beat runs this nightly)."""
    yesterday = today() - timedelta(days=1)
    built_days = set(db.session.scalars(
        select(SummaryDay.business_date).where(SummaryDay.store_id == store_id,
                                               SummaryDay.business_date >= yesterday - timedelta(days=days))))
    wanted = [yesterday - timedelta(days=n) for n in range(days)]
    todo = [day for day in wanted if day == yesterday or day not in built_days]
    for day in sorted(todo):
        build_day(store_id, day)
    return [day.isoformat() for day in sorted(todo)]
