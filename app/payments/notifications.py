"""Midtrans notifications: stored raw, verified, then processed by a task.

Processing never trusts the notification's body: it asks the status API
and applies what that says through `transitions.apply_state`.
"""

import json
import logging
from datetime import timedelta

from flask import current_app
from flask_smorest import abort
from sqlalchemy import select, update

from app.extensions import db
from app.models import utcnow
from app.payments.gateway import gateway, signature_is_valid
from app.payments.models import PaymentAttempt, WebhookLog
from app.tasking import enqueue_after_commit
from app.payments.attempts import attempts_of
from app.payments.transitions import apply_state

log = logging.getLogger(__name__)

# Headers worth keeping with a notification; anything else (cookies, auth) is dropped.
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "X-Real-Ip", "Content-Length")
MAX_WEBHOOK_BODY = 64 * 1024


def record_notification(raw_body, headers, remote_addr):
    """Store the notification as received, then check it. Returns the log row; aborts 400/403 when invalid."""
    entry = WebhookLog(
        received_at=utcnow(),
        remote_addr=(remote_addr or "")[:64] or None,
        headers={name: headers.get(name) for name in KEPT_HEADERS if headers.get(name)},
        body=raw_body[:MAX_WEBHOOK_BODY],
        processing_status="received",
        attempts=0,
    )
    db.session.add(entry)
    db.session.commit()

    try:
        payload = json.loads(raw_body)
    except ValueError:
        payload = None
    fields = ("order_id", "status_code", "gross_amount", "signature_key")
    if not isinstance(payload, dict) or not all(isinstance(payload.get(name), str) for name in fields):
        _close_log(entry, "invalid", "Malformed notification: not JSON, or order_id/status_code/gross_amount/signature_key missing.")
        abort(400, message="Malformed notification.")
    entry.midtrans_order_id = payload["order_id"][:64]
    entry.transaction_status = str(payload.get("transaction_status") or "")[:32] or None
    entry.signature_valid = signature_is_valid(payload, current_app.config["MIDTRANS_SERVER_KEY"])
    if not entry.signature_valid:
        _close_log(entry, "rejected", "Signature does not match.")
        abort(403, message="Invalid signature.")
    from tasks.payments import process_notification

    enqueue_after_commit(db.session, process_notification, entry.id)
    db.session.commit()
    return entry


def _close_log(entry, status, outcome):
    entry.processing_status = status
    entry.outcome = outcome[:500]
    entry.processed_at = utcnow()
    db.session.commit()
    log.warning("webhook_%s log_id=%s", status, entry.id)


def process_notification(log_id):
    """Apply one stored notification by asking the status API. Safe to run twice."""
    entry = db.session.get(WebhookLog, log_id)
    if entry is None or entry.processing_status != "received":
        return None
    entry.attempts += 1
    db.session.commit()
    outcome = reconcile_midtrans_order(entry.midtrans_order_id, source=f"webhook {log_id}")
    closed = db.session.execute(
        update(WebhookLog)
        .where(WebhookLog.id == log_id, WebhookLog.processing_status == "received")
        .values(processing_status="ignored" if outcome.startswith("ignored") else "processed",
                outcome=outcome[:500], processed_at=utcnow())
    ).rowcount
    db.session.commit()
    return outcome if closed else None


def mark_notification_failed(log_id, reason):
    db.session.rollback()
    db.session.execute(
        update(WebhookLog)
        .where(WebhookLog.id == log_id, WebhookLog.processing_status == "received")
        .values(processing_status="failed", outcome=reason[:500], processed_at=utcnow())
    )
    db.session.commit()


def reconcile_midtrans_order(midtrans_order_id, source):
    attempt_id = db.session.scalar(
        select(PaymentAttempt.id).where(PaymentAttempt.midtrans_order_id == midtrans_order_id)
    )
    db.session.rollback()
    if attempt_id is None:
        return f"ignored: no payment attempt has order_id {midtrans_order_id!r}"
    state = gateway().status(midtrans_order_id)
    return apply_state(attempt_id, state, source)


def notification_target(log_id):
    """The Midtrans order_id of a stored notification still to process, or None."""
    entry = db.session.get(WebhookLog, log_id)
    if entry is None or entry.processing_status != "received":
        return None
    return entry.midtrans_order_id


def unprocessed_notifications(limit=500, older_than_seconds=30):
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return db.session.scalars(
        select(WebhookLog.id)
        .where(WebhookLog.processing_status == "received", WebhookLog.received_at < cutoff)
        .order_by(WebhookLog.id)
        .limit(limit)
    ).all()


def notifications_of(order_id):
    ids = [a.midtrans_order_id for a in attempts_of(order_id)]
    if not ids:
        return []
    return db.session.scalars(
        select(WebhookLog).where(WebhookLog.midtrans_order_id.in_(ids)).order_by(WebhookLog.id)
    ).all()
