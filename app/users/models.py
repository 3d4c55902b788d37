"""Staff accounts."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import NO_ID_REUSE, TimestampMixin, UTCDateTime, one_of


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CASHIER = "cashier"


ADMIN = Role.ADMIN
SUPERVISOR = Role.SUPERVISOR
CASHIER = Role.CASHIER
ROLES = tuple(Role)


class User(TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", Role), name="role_known"), NO_ID_REUSE)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    # Stored lower-case: usernames are matched without regard to case.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Supervisors and admins approve a cashier's void, refund or large discount with this PIN.
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Raised whenever every token issued so far must stop working
    # (password change or reset, deactivation).
    token_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def revoke_tokens(self):
        self.token_version = (self.token_version or 1) + 1
