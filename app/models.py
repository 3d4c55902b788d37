"""Column types and mixins shared by every model."""

from datetime import datetime, timezone

from flask_smorest import abort
from sqlalchemy import DateTime, TypeDecorator, func
from sqlalchemy.orm import Mapped, mapped_column


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


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


def one_of(column, values):
    """SQL for a CHECK constraint: `column` holds one of `values`."""
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def get_or_404(model, ident, label):
    """The row of `model` with this primary key, or a 404 saying "No <label> with id <ident>."."""
    from app.extensions import db

    row = db.session.get(model, ident)
    if row is None:
        abort(404, message=f"No {label} with id {ident}.")
    return row
