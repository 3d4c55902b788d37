"""Sale numbers people read: `S-20261126-0042`, per store and local day.

On PostgreSQL each store and day has its own sequence
(`sale_no_<store>_<yyyymmdd>`, created by the day's first checkout), and
the sale's INSERT takes its next value (app/sales/recording.py).
`nextval` takes no row lock and does not wait for anyone's commit, so
checkouts in a store never queue for a number; a checkout that fails after
taking one leaves a gap, and the unique key on (store, number) makes a
duplicate impossible. Sequences of past days are dropped by the beat job
`maintenance.drop_old_sale_sequences`.

SQLite (the development default) has no sequences: there a counter row is
bumped inside the checkout's transaction, which SQLite serializes anyway.
"""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Integer, func, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.sales.models import Sale, SaleCounter

log = logging.getLogger(__name__)
_SEQUENCE_PREFIX = "sale_no_"
# Sequences this process knows exist, per database.
_known_sequences: set[tuple[str, str]] = set()


def business_date(moment: datetime | None = None) -> date:
    """The store's local calendar date now (or at `moment`)."""
    zone = ZoneInfo(current_app.config["STORE_TIMEZONE"])
    return (moment or datetime.now(zone)).astimezone(zone).date()


def _sequence_name(store_id: int, day: date) -> str:
    return f"{_SEQUENCE_PREFIX}{int(store_id)}_{day:%Y%m%d}"


def _sequence_exists(name: str) -> bool:
    return db.session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})


def _next_free_number(store_id: int, day: date) -> int:
    """One past the highest number the day already has: a sequence (re)created mid-day never repeats one."""
    highest = db.session.scalar(
        select(func.max(func.split_part(Sale.number, "-", 3).cast(Integer)))
        .where(Sale.store_id == store_id, Sale.business_date == day)
    )
    return (highest or 0) + 1


def _ensure_sequence(name: str, store_id: int, day: date) -> None:
    """Create the day's sequence if it is missing, inside the checkout's transaction.

    Not on a connection of its own: the request already holds one pooled
    connection, and a burst of first checkouts of the day each waiting for a
    second one can empty the pool and wait on one another until it times out.
    A concurrent creator makes us wait for its commit, then fail on the
    catalog's unique key; a savepoint keeps that failure out of the checkout.
    If the checkout rolls back, the sequence goes with it, so a name is
    remembered only once it is seen committed.
    """
    cache_key = (db.engine.url.render_as_string(), name)
    if cache_key in _known_sequences:
        return
    if _sequence_exists(name):
        _known_sequences.add(cache_key)
        return
    try:
        with db.session.begin_nested():
            start = _next_free_number(store_id, day)
            db.session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {int(start)}"))
    except DBAPIError:
        # Another first checkout of the day created it and has committed.
        if not _sequence_exists(name):
            raise


def number_prefix(day: date) -> str:
    return f"S-{day:%Y%m%d}-"


def format_number(day: date, number: int) -> str:
    return f"{number_prefix(day)}{number:04d}"


def day_sequence(store_id: int, day: date) -> str:
    """PostgreSQL: the store's number sequence for `day`, created if missing (the sale INSERT takes its next value)."""
    name = _sequence_name(store_id, day)
    _ensure_sequence(name, store_id, day)
    return name


def allocate_sale_number(store_id: int, day: date) -> str:
    """The next number on a database without sequences (SQLite): a counter row bumped in the checkout."""
    number = db.session.execute(
        sqlite_insert(SaleCounter)
        .values(store_id=store_id, business_date=day, last_number=1)
        .on_conflict_do_update(
            index_elements=[SaleCounter.store_id, SaleCounter.business_date],
            set_={"last_number": SaleCounter.last_number + 1},
        )
        .returning(SaleCounter.last_number)
    ).scalar_one()
    return format_number(day, number)


def drop_old_sequences(keep_days: int = 7) -> int:
    """Drop the number sequences of days long past; returns how many went."""
    if db.engine.dialect.name != "postgresql":
        return 0
    cutoff = (business_date() - timedelta(days=keep_days)).strftime("%Y%m%d")
    names = db.session.scalars(
        text("SELECT sequencename FROM pg_sequences WHERE sequencename LIKE :prefix"),
        {"prefix": _SEQUENCE_PREFIX + "%"},
    ).all()
    old = [name for name in names if name.rsplit("_", 1)[-1] < cutoff]
    for name in old:
        db.session.execute(text(f"DROP SEQUENCE IF EXISTS {name}"))
    db.session.commit()
    log.info("sale_sequences_dropped count=%s", len(old))
    return len(old)
