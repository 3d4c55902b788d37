"""Midtrans notifications: verified, stored raw, then processed by a task.

Processing never trusts the notification's body: it asks the status API
and applies what that says through `transitions.apply_state`.
"""

import hashlib
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import redis
from flask import current_app
from sqlalchemy import delete, select, update
from werkzeug.datastructures import Headers

from app import jsonbody, task_names
from app.domain import Forbidden, Malformed
from app.extensions import db, redis_client
from app.models import utcnow
from app.payments.gateway import gateway, signature_is_valid
from app.payments.models import PaymentAttempt, WebhookLog, WebhookState
from app.tasking import enqueue_after_commit
from app.payments.attempts import attempts_of
from app.payments.transitions import apply_state

log = logging.getLogger(__name__)

# Headers worth keeping with a notification; anything else (cookies, auth) is dropped.
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "X-Real-Ip", "Content-Length")
MAX_HEADER_CHARS = 256
MAX_WEBHOOK_BODY = 64 * 1024
_REQUIRED_FIELDS = ("order_id", "status_code", "gross_amount", "signature_key")


def record_notification(raw_body: str, headers: Headers, remote_addr: str | None) -> WebhookLog:
    """Verify a notification, store it, and queue its processing.

    The check needs nothing but the body and the server key, so it runs
    before the row is written, and the row is written once, with its
    outcome. A correctly signed notification is always stored whole and
    queued. One that is malformed or wrongly signed is answered 400/403 and
    kept for audit in bounded form, and only while senders stay within the
    storage caps (`_within_unverified_caps`), so strangers cannot fill the disk.
    """
    problem: str | None
    try:
        payload = jsonbody.loads(raw_body)
    except ValueError as error:
        payload, problem = None, f"Malformed notification: {jsonbody.describe(error)}"
    else:
        problem = None if _has_required_fields(payload) else (
            "Malformed notification: order_id, status_code, gross_amount or signature_key missing or not strings.")
    if problem is not None:
        _record_refused(raw_body, headers, remote_addr, WebhookState.INVALID, problem, payload=None)
        raise Malformed("Malformed notification.")
    if not signature_is_valid(payload, current_app.config["MIDTRANS_SERVER_KEY"]):
        _record_refused(raw_body, headers, remote_addr, WebhookState.REJECTED, "Signature does not match.", payload)
        raise Forbidden("Invalid signature.")

    entry = _entry(raw_body[:MAX_WEBHOOK_BODY], headers, remote_addr, payload, WebhookState.RECEIVED,
                   signature_valid=True)
    db.session.add(entry)
    db.session.flush()
    enqueue_after_commit(db.session, task_names.PROCESS_NOTIFICATION, entry.id)
    db.session.commit()
    return entry


def _has_required_fields(payload: object) -> bool:
    return isinstance(payload, dict) and all(isinstance(payload.get(name), str) for name in _REQUIRED_FIELDS)


def _entry(body: str, headers: Headers, remote_addr: str | None, payload: Any, status: str,
           signature_valid: bool | None) -> WebhookLog:
    return WebhookLog(
        received_at=utcnow(),
        remote_addr=(remote_addr or "")[:64] or None,
        headers={name: value[:MAX_HEADER_CHARS] for name in KEPT_HEADERS if (value := headers.get(name))},
        body=body,
        midtrans_order_id=payload["order_id"][:64] if payload else None,
        transaction_status=(str(payload.get("transaction_status") or "")[:32] or None) if payload else None,
        signature_valid=signature_valid,
        processing_status=status,
        attempts=0,
    )


def _record_refused(raw_body: str, headers: Headers, remote_addr: str | None, status: str, problem: str,
                    payload: Any) -> None:
    """Keep an audit row of a refused notification: an excerpt, and the size and hash of the whole body."""
    if not _within_unverified_caps(remote_addr):
        log.warning("webhook_%s_not_stored remote_addr=%s body_chars=%s", status, remote_addr, len(raw_body))
        return
    limit = current_app.config["WEBHOOK_UNVERIFIED_BODY_CHARS"]
    excerpt = raw_body[:limit].replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL
    entry = _entry(excerpt, headers, remote_addr, payload, status, signature_valid=False if payload else None)
    entry.outcome = problem[:300]
    if len(raw_body) > limit:
        digest = hashlib.sha256(raw_body.encode("utf-8", "surrogatepass")).hexdigest()
        entry.outcome += f" Body of {len(raw_body)} characters (sha256 {digest}); the first {limit} kept."
    entry.processed_at = entry.received_at
    db.session.add(entry)
    db.session.commit()
    log.warning("webhook_%s log_id=%s remote_addr=%s", status, entry.id, remote_addr)


def _within_unverified_caps(remote_addr: str | None) -> bool:
    """Count a refused notification against the per-minute storage caps, in total and per address.

    With Redis unreachable the row is stored anyway: a refused notification
    is worth keeping during an incident, and each row is small.
    """
    config = current_app.config
    minute = int(time.time() // 60)
    keys = (f"webhook-unverified:{minute}:all", f"webhook-unverified:{minute}:addr:{remote_addr}")
    try:
        pipe = redis_client.pipeline()
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, 120)
        in_total, _, from_address, _ = pipe.execute()
    except redis.exceptions.RedisError:
        return True
    return (in_total <= config["WEBHOOK_UNVERIFIED_PER_MINUTE"]
            and from_address <= config["WEBHOOK_UNVERIFIED_PER_ADDRESS_PER_MINUTE"])


def purge_refused(older_than_days: int | None = None, batch: int = 5000) -> int:
    """Delete refused (invalid or wrongly signed) notifications past their retention; returns how many."""
    days = current_app.config["WEBHOOK_UNVERIFIED_RETENTION_DAYS"] if older_than_days is None else older_than_days
    cutoff = utcnow() - timedelta(days=days)
    removed = 0
    while True:
        ids = db.session.scalars(
            select(WebhookLog.id)
            .where(WebhookLog.processing_status.in_((WebhookState.INVALID, WebhookState.REJECTED)),
                   WebhookLog.received_at < cutoff)
            .limit(batch)
        ).all()
        if not ids:
            return removed
        removed += db.session.execute(delete(WebhookLog).where(WebhookLog.id.in_(ids))).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult
        db.session.commit()


def process_notification(log_id: int) -> str | None:
    """Apply one stored notification by asking the status API. Safe to run twice."""
    entry = db.session.get(WebhookLog, log_id)
    # A received entry always names its order (it is stored so only with every required field).
    if entry is None or entry.processing_status != WebhookState.RECEIVED or entry.midtrans_order_id is None:
        return None
    entry.attempts += 1
    db.session.commit()
    outcome = reconcile_midtrans_order(entry.midtrans_order_id, source=f"webhook {log_id}")
    closed = db.session.execute(  # type: ignore[attr-defined]  # DML gives a CursorResult
        update(WebhookLog)
        .where(WebhookLog.id == log_id, WebhookLog.processing_status == WebhookState.RECEIVED)
        .values(processing_status=WebhookState.IGNORED if outcome.startswith("ignored") else WebhookState.PROCESSED,
                outcome=outcome[:500], processed_at=utcnow())
    ).rowcount
    db.session.commit()
    return outcome if closed else None


def mark_notification_failed(log_id: int, reason: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(WebhookLog)
        .where(WebhookLog.id == log_id, WebhookLog.processing_status == WebhookState.RECEIVED)
        .values(processing_status=WebhookState.FAILED, outcome=reason[:500], processed_at=utcnow())
    )
    db.session.commit()


def reconcile_midtrans_order(midtrans_order_id: str, source: str) -> str:
    attempt_id = db.session.scalar(
        select(PaymentAttempt.id).where(PaymentAttempt.midtrans_order_id == midtrans_order_id)
    )
    db.session.rollback()
    if attempt_id is None:
        return f"ignored: no payment attempt has order_id {midtrans_order_id!r}"
    state = gateway().status(midtrans_order_id)
    return apply_state(attempt_id, state, source)


def notification_target(log_id: int) -> str | None:
    """The Midtrans order_id of a stored notification still to process, or None."""
    entry = db.session.get(WebhookLog, log_id)
    if entry is None or entry.processing_status != WebhookState.RECEIVED:
        return None
    return entry.midtrans_order_id


def unprocessed_notifications(limit: int = 500, older_than_seconds: int = 30) -> Sequence[int]:
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return db.session.scalars(
        select(WebhookLog.id)
        .where(WebhookLog.processing_status == WebhookState.RECEIVED, WebhookLog.received_at < cutoff)
        .order_by(WebhookLog.id)
        .limit(limit)
    ).all()


def notifications_of(order_id: uuid.UUID) -> Sequence[WebhookLog]:
    ids = [a.midtrans_order_id for a in attempts_of(order_id)]
    if not ids:
        return []
    return db.session.scalars(
        select(WebhookLog).where(WebhookLog.midtrans_order_id.in_(ids)).order_by(WebhookLog.id)
    ).all()
