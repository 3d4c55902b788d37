"""Sale numbers people read: `S-20261126-0042`, per store and local day.

A number is taken from `sale_counters` in its own tiny transaction, so
checkouts never queue behind each other's open transactions for it. A
checkout that fails after taking a number leaves a gap; the unique key on
(store, number) makes a duplicate impossible.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.sales.models import SaleCounter


def business_date(moment=None):
    """The store's local calendar date now (or at `moment`)."""
    zone = ZoneInfo(current_app.config["STORE_TIMEZONE"])
    return (moment or datetime.now(zone)).astimezone(zone).date()


def allocate_sale_number(store_id, day):
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(SaleCounter).values(store_id=store_id, business_date=day, last_number=1)
    statement = statement.on_conflict_do_update(
        index_elements=[SaleCounter.store_id, SaleCounter.business_date],
        set_={"last_number": SaleCounter.last_number + 1},
    ).returning(SaleCounter.last_number)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        sequence = connection.execute(statement).scalar_one()
    return f"S-{day:%Y%m%d}-{sequence:04d}"
