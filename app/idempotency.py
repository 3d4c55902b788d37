"""`Idempotency-Key` for writes a client may retry (checkout, online order, payment create).

Same key and same request: the first result again, never a second sale.
Same key with another request: 422. The same key while the first request is
still running: 409.

Everything happens inside the business transaction, so the key's record and
what it records (the sale) commit together or not at all, and a failed or
crashed request leaves nothing behind: the client may simply retry. On
PostgreSQL a transaction-scoped advisory lock on the key tells a concurrent
duplicate to back off (409) without waiting; the unique key on
(scope, key) is the backstop on every database.

The decorator hands the view its `claim` (a Claim, or None without a key)
as a keyword argument, and the view passes it to its service, which
completes it in its transaction. A view that returns without completing
its claim is a bug that would make a retry run the request twice: under
TESTING the decorator raises UnfinishedClaim (a 500 the test sees); in
production the request has already committed, so it is logged instead of
answering an error that would invite exactly that retry.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, NamedTuple

from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import Integer, Row, String, UniqueConstraint, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.domain import Conflict, Invalid
from app.driver_sql import DriverStatement
from app.extensions import db
from app.models import UTCDateTime, utcnow

log = logging.getLogger(__name__)
# The view takes `claim`, the view it becomes does not.
View = Callable[..., Any]

HEADER = "Idempotency-Key"


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose keys these are: the endpoint, and the staff user where there is one.
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    # What the first request produced: re-read and shown again on a replay.
    resource_id: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class UnfinishedClaim(RuntimeError):
    """A view returned without completing its Idempotency-Key claim (raised under TESTING)."""


@dataclass
class Claim:
    """This request may go ahead; its service must complete it in its transaction, before committing."""

    scope: str
    key: str
    request_hash: str
    completed: bool = False

    def record(self, response_status: int) -> dict[str, Any]:
        """This request's record, but for `resource_id`; the claim counts as completed.

        For a caller that writes the record in a statement of its own (a
        checkout on PostgreSQL writes it with the sale): it must insert the
        record, with `resource_id`, in its transaction.
        """
        self.completed = True
        now = utcnow()
        return {
            "scope": self.scope,
            "key": self.key,
            "request_hash": self.request_hash,
            "response_status": response_status,
            "created_at": now,
            "expires_at": now + timedelta(hours=current_app.config["IDEMPOTENCY_KEY_TTL_HOURS"]),
        }

    def complete(self, resource_id: object, response_status: int) -> None:
        """Record this request's outcome under its key, in the caller's transaction (before it commits)."""
        insert_record(self.record(response_status), resource_id)


@dataclass(frozen=True)
class Replay:
    """The key's first request has finished: show its result again."""

    resource_id: str
    response_status: int


def _request_hash() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else request.get_data()
    if isinstance(canonical, str):
        canonical = canonical.encode()
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + canonical).hexdigest()


def _lock_id(scope: str, key: str) -> int:
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _Record(NamedTuple):
    id: int
    request_hash: str
    resource_id: str
    response_status: int
    expires_at: datetime


_RECORD = select(*(getattr(IdempotencyKey, field) for field in _Record._fields)).where(
    IdempotencyKey.scope == bindparam("scope"), IdempotencyKey.key == bindparam("key")
)
# PostgreSQL: take the key's advisory lock and read any record of it in one round trip.
_LOCK_AND_RECORD = DriverStatement(f"""
    SELECT pg_try_advisory_xact_lock(:lock_id), {", ".join(f"found.{field}" for field in _Record._fields)}
    FROM (SELECT 1) AS one
    LEFT JOIN idempotency_keys AS found ON found.scope = :scope AND found.key = :key
""")


def _claim(scope: str, key: str, request_hash: str) -> Claim | Replay:
    """A Claim to go ahead with, or a Replay of the finished first request.

    On PostgreSQL one statement takes the key's advisory lock and reads any
    record of it; if another transaction holds the lock, the answer is 409.
    """
    params = {"scope": scope, "key": key}
    existing: _Record | Row[Any] | None
    if db.session.get_bind().dialect.name == "postgresql":
        locked, *record = _LOCK_AND_RECORD.one({**params, "lock_id": _lock_id(scope, key)})
        if not locked:
            raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
        existing = None if record[0] is None else _Record(*record)
    else:
        existing = db.session.execute(_RECORD, params).first()
    if existing is not None and existing.expires_at <= utcnow():
        # Past its 24 hours: forgotten, and the key starts afresh.
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
        existing = None
    if existing is None:
        return Claim(scope, key, request_hash)
    if existing.request_hash != request_hash:
        raise Invalid("This Idempotency-Key was already used with a different request.",
                      errors={"headers": {HEADER: ["Used with another request body."]}})
    return Replay(existing.resource_id, existing.response_status)


# Every checkout writes one: a plain statement rather than the ORM's unit of work.
_INSERT_RECORD = DriverStatement(
    "INSERT INTO idempotency_keys (scope, key, request_hash, resource_id, response_status, created_at, expires_at) "
    "VALUES (:scope, :key, :request_hash, :resource_id, :response_status, :created_at, :expires_at)",
    portable=insert(IdempotencyKey.__table__),
)


def insert_record(record: Mapping[str, Any], resource_id: object) -> None:
    _INSERT_RECORD.rows({**record, "resource_id": str(resource_id)})


def idempotent(name: str, replay: Callable[[str], Any], scope_by_user: bool = True) -> Callable[[View], View]:
    """Make a view honour `Idempotency-Key`.

    `replay(resource_id)` rebuilds the response body of a finished request.
    The view receives `claim` (a Claim, or None when the request has no key)
    and its service must complete it inside its transaction. Place under the
    access policy and above `@blp.arguments`.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER)
            if key is None:
                return view(*args, claim=None, **kwargs)
            if not 1 <= len(key) <= 255 or not key.isprintable() or not key.isascii():
                raise Invalid(f"{HEADER} must be 1 to 255 printable ASCII characters.",
                              errors={"headers": {HEADER: ["Invalid key."]}})
            scope = name
            if scope_by_user:
                from flask_jwt_extended import current_user

                scope = f"{name}:user:{current_user.id}"
            outcome = _claim(scope, key, _request_hash())
            if isinstance(outcome, Replay):
                response = jsonify(replay(outcome.resource_id))
                response.status_code = outcome.response_status
                response.headers["Idempotent-Replayed"] = "true"
                return response
            try:
                result = view(*args, claim=outcome, **kwargs)
            except IntegrityError as error:
                # Only the unique key on (scope, key) is expected here: a duplicate
                # that slipped past the lock (SQLite has none).
                db.session.rollback()
                if "idempotency_keys" not in str(error.orig):
                    raise
                raise Conflict("A request with this Idempotency-Key was processed concurrently; retry it.")
            if not outcome.completed:
                log.error("idempotency_not_completed scope=%s", name)
                if current_app.testing:
                    raise UnfinishedClaim(f"{view.__qualname__} returned without completing its Idempotency-Key "
                                          "claim: pass `claim` to its service and complete it before the commit.")
            return result

        header = {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},  # printable ASCII
            "description": "Retry-safe: the same key and body return the first result; another body is 422; "
            "a concurrent duplicate is 409. Keys are kept 24 hours.",
        }
        return Blueprint.doc(parameters=[header])(guarded)

    return decorator


def purge_expired() -> int:
    """Delete keys past their expiry (the beat schedule runs this)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult
