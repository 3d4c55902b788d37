"""Column types and mixins shared by every model."""

from datetime import datetime, timezone

from sqlalchemy import DateTime, TypeDecorator, func
from sqlalchemy.orm import Mapped, mapped_column

from app.domain import NotFound


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in UTC on every database.

    PostgreSQL keeps the offset (timestamptz); SQLite keeps none, so values
    read back are marked UTC here and always serialize with an offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use an aware UTC datetime")
            try:
                value = value.astimezone(timezone.utc)
            except OverflowError:  # a day at the calendar's edge (0001-01-01 in Jakarta): clamp to it
                value = (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


# Table options of every table whose ids the API hands out: on SQLite an id is never given
# again once its row is deleted (AUTOINCREMENT), as PostgreSQL's sequences never give one twice.
# Without it SQLite reuses the highest id, and a till holding an old cart id closed another's cart.
NO_ID_REUSE = {"sqlite_autoincrement": True}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


def one_of(column, values):
    """SQL for a CHECK constraint: `column` holds one of `values` (strings, or a StrEnum class in its order)."""
    return f"{column} IN (" + ", ".join(f"'{str(value)}'" for value in values) + ")"


def get_or_raise(model, ident, label):
    """The row of `model` with this primary key; NotFound saying "No <label> with id <ident>." if none."""
    from app.extensions import db

    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(f"No {label} with id {ident}.")
    return row
