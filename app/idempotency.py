"""`Idempotency-Key` for writes a client may retry (checkout, online order, payment create).

Same key and same request: the first result again, never a second sale.
Same key with another request: 422. The same key while the first request is
still running: 409.

A key is claimed in its own short transaction (so a concurrent duplicate
sees it at once), then completed inside the business transaction: the sale
and the key's record of it commit together or not at all. A request that
fails gives its claim back, so the client may retry with the same key. A
claim left by a crashed process is taken over after `STALE_AFTER`.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_smorest import abort
from sqlalchemy import CheckConstraint, Integer, String, UniqueConstraint, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import UTCDateTime, utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
STALE_AFTER = timedelta(minutes=2)
_G_CLAIM = "idempotency_claim"


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
        CheckConstraint("status IN ('in_progress', 'done')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose keys these are: the endpoint, and the staff user where there is one.
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    # What the first request produced: re-read and shown again on a replay.
    resource_id: Mapped[str | None] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@dataclass
class Claim:
    """This request may go ahead; it must `complete` or give the key back."""

    id: int
    completed: bool = False


@dataclass(frozen=True)
class Replay:
    """The key's first request has finished: show its result again."""

    resource_id: str
    response_status: int


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def _autonomous():
    """A connection of its own that commits each statement: the claim must be visible before our transaction ends."""
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _request_hash():
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else request.get_data()
    if isinstance(canonical, str):
        canonical = canonical.encode()
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + canonical).hexdigest()


def _insert_claim(connection, scope, key, request_hash, now, ttl):
    return connection.execute(
        _insert()(IdempotencyKey)
        .values(scope=scope, key=key, request_hash=request_hash, status="in_progress", claimed_at=now,
                expires_at=now + ttl)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.id)
    ).scalar()


def _claim(scope, key, request_hash):
    """A Claim to go ahead with, or a Replay of the finished first request."""
    now = utcnow()
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_KEY_TTL_HOURS"])
    with _autonomous() as connection:
        claimed = _insert_claim(connection, scope, key, request_hash, now, ttl)
        if claimed is None:
            # An expired record of the same key is forgotten, then the key is fresh again.
            expired = connection.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.scope == scope, IdempotencyKey.key == key, IdempotencyKey.expires_at < now
                )
            ).rowcount
            if expired:
                claimed = _insert_claim(connection, scope, key, request_hash, now, ttl)
        if claimed is not None:
            return Claim(claimed)
        existing = connection.execute(
            select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        ).one_or_none()
        if existing is None:
            abort(409, message="A request with this Idempotency-Key was just finishing; retry it.")
        if existing.request_hash != request_hash:
            abort(422, message="This Idempotency-Key was already used with a different request.",
                  errors={"headers": {HEADER: ["Used with another request body."]}})
        if existing.status == "done":
            return Replay(existing.resource_id, existing.response_status)
        if existing.claimed_at > now - STALE_AFTER:
            abort(409, message="A request with this Idempotency-Key is still being processed; retry shortly.")
        taken_over = connection.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == existing.id, IdempotencyKey.status == "in_progress",
                   IdempotencyKey.claimed_at == existing.claimed_at)
            .values(claimed_at=now)
        ).rowcount
        if not taken_over:
            abort(409, message="A request with this Idempotency-Key is still being processed; retry shortly.")
        log.warning("idempotency_claim_taken_over scope=%s", scope)
        return Claim(existing.id)


def _release(claim):
    with _autonomous() as connection:
        connection.execute(
            delete(IdempotencyKey).where(IdempotencyKey.id == claim.id, IdempotencyKey.status == "in_progress")
        )


def complete(resource_id, response_status):
    """Record the outcome of this request's claim, in the caller's transaction (before it commits)."""
    claim = g.get(_G_CLAIM)
    if claim is None:
        return
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.id)
        .values(status="done", resource_id=str(resource_id), response_status=response_status)
    )
    claim.completed = True


def idempotent(name, replay, scope_by_user=True):
    """Make a view honour `Idempotency-Key`.

    `replay(resource_id)` rebuilds the response body of a finished request;
    the view's service must call `complete(resource_id, status)` inside its
    transaction. Place under the access policy and above `@blp.arguments`.
    """

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return view(*args, **kwargs)
            if not 1 <= len(key) <= 255 or not key.isprintable() or not key.isascii():
                abort(422, message=f"{HEADER} must be 1 to 255 printable ASCII characters.",
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
            setattr(g, _G_CLAIM, outcome)
            try:
                result = view(*args, **kwargs)
            except BaseException:
                db.session.rollback()
                _release(outcome)
                raise
            if not outcome.completed:
                log.error("idempotency_not_completed scope=%s", name)
                _release(outcome)
            return result

        guarded._apidoc = getattr(view, "_apidoc", {})
        manual = guarded._apidoc.setdefault("manual_doc", {})
        manual.setdefault("parameters", []).append(
            {
                "in": "header",
                "name": HEADER,
                "required": False,
                "schema": {"type": "string", "maxLength": 255},
                "description": "Retry-safe: the same key and body return the first result; another body is 422; "
                "a concurrent duplicate is 409. Keys are kept 24 hours.",
            }
        )
        return guarded

    return decorator


def purge_expired():
    """Delete keys past their expiry (the beat schedule runs this)."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount
