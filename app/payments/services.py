"""Paying for online orders with Midtrans Snap, and keeping our records true to Midtrans.

- `start_payment` makes (or reuses) a payment attempt; a Celery task asks
  Snap for its token (`create_snap_token`).
- Notifications are stored raw, verified, and processed by a task
  (`process_notification`), which never trusts the notification's body: it
  asks the status API and applies what that says (`apply_state`).
- Beat asks the status API about attempts that went quiet, re-queues stored
  notifications that were never processed, and expires unpaid orders.

`apply_state` is the one code path that changes an attempt's status. It locks
the attempt row and moves it forward only (`payments.states`), so duplicate,
racing and out-of-order notifications change nothing twice.
"""

import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest import abort
from sqlalchemy import func, or_, select, update

from app.auth.policy import MANAGERS
from app.extensions import db
from app.models import utcnow
from app.orders import services as orders
from app.orders.models import Order
from app.payments import states
from app.payments.gateway import GatewayError, gateway, signature_is_valid
from app.payments.models import PaymentAttempt, PaymentEvent, WebhookLog
from app.tasking import enqueue_after_commit

log = logging.getLogger(__name__)

MIDTRANS_NAME_LIMIT = 50
# Headers worth keeping with a notification; anything else (cookies, auth) is dropped.
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "X-Real-Ip", "Content-Length")
MAX_WEBHOOK_BODY = 64 * 1024


# Starting a payment


def latest_attempt(order_id):
    return db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order_id).order_by(PaymentAttempt.attempt_no.desc())
    ).first()


def start_payment(order_id):
    """The attempt to show the customer: a live one again, or a new one. Returns (attempt_id, is_new)."""
    order = orders.find_order(order_id, lock=True)
    if order.status != "pending":
        abort(409, message=f"The order is {order.status}; there is nothing to pay.")
    if order.expires_at <= utcnow():
        abort(409, message="The order's time to pay has run out; place it again.")
    latest = latest_attempt(order.id)
    if latest is not None and _still_usable(latest):
        db.session.commit()
        return latest.id, False
    number = (latest.attempt_no if latest else 0) + 1
    attempt = PaymentAttempt(
        order_id=order.id,
        attempt_no=number,
        # Midtrans accepts an order_id once, ever: each attempt has its own.
        midtrans_order_id=f"{order.id.hex}-{number}",
        status="creating",
        amount_idr=order.total_idr,
        refunded_idr=0,
    )
    db.session.add(attempt)
    db.session.flush()
    orders.set_payment_status(order.id, "creating")
    from tasks.payments import create_snap_token

    enqueue_after_commit(db.session, create_snap_token, attempt.id)
    db.session.commit()
    log.info("payment_attempt_started order_id=%s attempt=%s", order.id, number)
    return attempt.id, True


def _still_usable(attempt):
    if attempt.status == "creating":
        return True
    if attempt.status in ("pending", "challenge", "paid"):
        return attempt.token_expires_at is None or attempt.token_expires_at > utcnow() or attempt.status != "pending"
    return False


def wait_for_token(attempt_id):
    """Poll briefly for the worker to fill in the token; returns the attempt as it then stands."""
    deadline = time.monotonic() + current_app.config["PAYMENT_TOKEN_WAIT_SECONDS"]
    while True:
        attempt = db.session.get(PaymentAttempt, attempt_id, populate_existing=True)
        if attempt.status != "creating" or time.monotonic() >= deadline:
            return attempt
        db.session.rollback()  # a fresh snapshot for the next look
        time.sleep(0.1)


def attempt_for_order(order_id):
    order = orders.find_order(order_id)
    attempt = latest_attempt(order.id)
    if attempt is None:
        abort(404, message="No payment has been started for this order.")
    return attempt


# The Snap token (Celery task body)


def snap_params(order, attempt):
    """Snap's request for this attempt; item_details always add up to gross_amount."""
    items = [
        {"id": str(item.product_id), "price": item.unit_price_idr, "quantity": item.qty,
         "name": item.name[:MIDTRANS_NAME_LIMIT]}
        for item in order.items
    ]
    if order.service_charge_idr:
        items.append({"id": "service", "price": order.service_charge_idr, "quantity": 1, "name": "Service charge"})
    if order.tax_idr and not order.tax_inclusive:
        items.append({"id": "tax", "price": order.tax_idr, "quantity": 1, "name": (order.tax_name or "Tax")[:50]})
    difference = attempt.amount_idr - sum(item["price"] * item["quantity"] for item in items)
    if difference:
        items.append({"id": "rounding", "price": difference, "quantity": 1, "name": "Pembulatan"})
    zone = ZoneInfo(current_app.config["STORE_TIMEZONE"])
    minutes_left = max(1, int((order.expires_at - utcnow()).total_seconds() // 60))
    params = {
        "transaction_details": {"order_id": attempt.midtrans_order_id, "gross_amount": attempt.amount_idr},
        "item_details": items,
        "customer_details": {
            "first_name": order.customer_name[:255],
            "phone": order.customer_phone,
            **({"email": order.customer_email} if order.customer_email else {}),
        },
        "expiry": {
            "start_time": datetime.now(zone).strftime("%Y-%m-%d %H:%M:%S %z"),
            "unit": "minute",
            "duration": minutes_left,
        },
    }
    if current_app.config.get("ORDER_FINISH_URL"):
        params["callbacks"] = {"finish": current_app.config["ORDER_FINISH_URL"]}
    return params


def create_snap_token(attempt_id):
    """Ask Snap for the attempt's token, once. Transient Midtrans failures raise GatewayError for a retry."""
    attempt = db.session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.status != "creating":
        return
    order = db.session.get(Order, attempt.order_id)
    if order.status != "pending" or order.expires_at <= utcnow() + timedelta(seconds=30):
        fail_attempt(attempt_id, f"The order is {order.status if order.status != 'pending' else 'about to expire'}.")
        return
    try:
        token = gateway().create_snap(snap_params(order, attempt))
    except GatewayError as error:
        if error.transient:
            raise
        reason = error.message
        if "already been taken" in str(error.body):
            reason = "Midtrans already has this attempt (a retried request); a new attempt will be made."
        fail_attempt(attempt_id, reason)
        return
    moved = db.session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id, PaymentAttempt.status == "creating")
        .values(status="pending", snap_token=token.token, redirect_url=token.redirect_url,
                token_expires_at=order.expires_at, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        orders.set_payment_status(order.id, "pending")
    db.session.commit()


def fail_attempt(attempt_id, reason):
    db.session.rollback()
    attempt = db.session.get(PaymentAttempt, attempt_id)
    moved = db.session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id, PaymentAttempt.status == "creating")
        .values(status="failed", failure_reason=reason[:500], updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved and _is_latest(attempt):
        orders.set_payment_status(attempt.order_id, "failed")
    db.session.commit()
    log.warning("payment_attempt_failed attempt_id=%s reason=%s", attempt_id, reason[:200])


def _is_latest(attempt):
    latest_no = db.session.scalar(
        select(func.max(PaymentAttempt.attempt_no)).where(PaymentAttempt.order_id == attempt.order_id)
    )
    return latest_no == attempt.attempt_no


# Notifications


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


# Applying what Midtrans says


def _refunded_amount(state):
    try:
        return int(float(state.raw.get("refund_amount") or 0))
    except (TypeError, ValueError):
        return 0


def apply_state(attempt_id, state, source):
    """Bring the attempt (and its order) to what the status API says, forward only. Returns the outcome."""
    attempt = db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    attempt.last_checked_at = utcnow()
    if not state.found:
        db.session.commit()
        return f"attempt {attempt.attempt_no}: no payment method chosen yet ({source})"
    attempt.transaction_status = state.transaction_status
    attempt.fraud_status = state.fraud_status
    attempt.payment_type = state.payment_type or attempt.payment_type
    attempt.midtrans_transaction_id = state.transaction_id or attempt.midtrans_transaction_id
    new = states.attempt_status(state.transaction_status, state.fraud_status)
    current = attempt.status

    if new in ("paid", "challenge") and state.amount_idr != attempt.amount_idr:
        _event(attempt, "amount_mismatch", state.amount_idr,
               f"Midtrans says {state.gross_amount}, the attempt is for {attempt.amount_idr}")
        db.session.commit()
        log.error("payment_amount_mismatch attempt_id=%s", attempt.id)
        return f"ignored: amount {state.gross_amount} does not match {attempt.amount_idr} ({source})"
    refunded = _refunded_amount(state)
    if new is None or (new == current and not (new == "partially_refunded" and refunded != attempt.refunded_idr)):
        db.session.commit()
        return f"attempt {attempt.attempt_no}: no change, still {current} ({source})"
    if new != current and not states.may_move(current, new):
        db.session.commit()
        return f"attempt {attempt.attempt_no}: {state.transaction_status} after {current} ignored ({source})"

    attempt.status = new
    attempt.updated_at = utcnow()
    order = db.session.get(Order, attempt.order_id)
    outcome = _order_effects(attempt, order, current, new, state, refunded)
    if _is_latest(attempt) or new == "paid":
        orders.set_payment_status(order.id, new)
    db.session.commit()
    log.info("payment_state_applied attempt_id=%s from=%s to=%s source=%s", attempt.id, current, new, source)
    return f"attempt {attempt.attempt_no}: {current} -> {new}; {outcome} ({source})"


def _order_effects(attempt, order, current, new, state, refunded):
    if new == "paid":
        attempt.paid_at = utcnow()
        outcome = orders.mark_paid(order, attempt.paid_at)
        if outcome.endswith("needs a refund"):
            _event(attempt, "paid_after_close", attempt.amount_idr, outcome)
        return outcome
    if new == "challenge":
        return "held for fraud review"
    if new in ("refunded", "partially_refunded"):
        amount = refunded or (attempt.amount_idr if new == "refunded" else 0)
        kind = "chargeback" if "chargeback" in (state.transaction_status or "") else "refund"
        _event(attempt, kind, amount - attempt.refunded_idr, f"Midtrans {state.transaction_status}")
        attempt.refunded_idr = amount
        order.refunded_idr = min(order.total_idr, amount)
        return f"{kind} of {amount} recorded"
    if current == "paid":
        # Midtrans reversed a settled payment (deny after settlement, or a cancel).
        _event(attempt, "reversed", attempt.amount_idr, f"Midtrans {state.transaction_status} after payment")
        return "payment reversed after it was paid: review the order"
    if new == "cancelled":
        closed = orders.close_unpaid(order, "cancelled", f"payment {state.transaction_status}")
        return "order closed, stock released" if closed else f"order already {order.status}"
    # A denied or failed payment (a card the bank refused) leaves the order open: the customer may
    # start another attempt, with another method, until the order expires and releases its stock.
    if new == "expired" and order.status == "pending" and order.expires_at <= utcnow():
        closed = orders.close_unpaid(order, "expired", "payment expired")
        return "order expired, stock released" if closed else f"order already {order.status}"
    return "the customer may try to pay again"


def _event(attempt, kind, amount, detail):
    db.session.add(PaymentEvent(attempt_id=attempt.id, kind=kind, amount_idr=amount, detail=detail[:500]))


# Beat: reconciliation and expiry


def quiet_attempts(limit=500):
    """Open attempts with no news for the grace period: ask Midtrans about them."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PAYMENT_RECONCILE_GRACE_SECONDS"])
    return db.session.scalars(
        select(PaymentAttempt.id)
        .where(
            PaymentAttempt.status.in_(("pending", "challenge")),
            PaymentAttempt.created_at < cutoff,
            or_(PaymentAttempt.last_checked_at.is_(None), PaymentAttempt.last_checked_at < cutoff),
        )
        .order_by(PaymentAttempt.last_checked_at.nulls_first())
        .limit(limit)
    ).all()


def stuck_creating_attempts(limit=200):
    cutoff = utcnow() - timedelta(seconds=current_app.config["PAYMENT_RECONCILE_GRACE_SECONDS"])
    return db.session.scalars(
        select(PaymentAttempt.id).where(PaymentAttempt.status == "creating", PaymentAttempt.updated_at < cutoff)
        .limit(limit)
    ).all()


def unprocessed_notifications(limit=500, older_than_seconds=30):
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return db.session.scalars(
        select(WebhookLog.id)
        .where(WebhookLog.processing_status == "received", WebhookLog.received_at < cutoff)
        .order_by(WebhookLog.id)
        .limit(limit)
    ).all()


def reconcile_attempt(attempt_id):
    attempt = db.session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.status not in states.OPEN:
        return None
    midtrans_order_id = attempt.midtrans_order_id
    db.session.rollback()
    return apply_state(attempt_id, gateway().status(midtrans_order_id), "reconciliation")


def expire_order(order_id):
    """Close an order whose time ran out: stop its payments at Midtrans first, then release its stock once."""
    order_id = uuid.UUID(str(order_id))
    order = db.session.get(Order, order_id)
    if order is None or order.status != "pending" or order.expires_at > utcnow() or order.payment_status == "challenge":
        return "not due"
    open_attempts = db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(("creating", "pending")))
    ).all()
    targets = [(a.id, a.midtrans_order_id) for a in open_attempts]
    db.session.rollback()
    for attempt_id, midtrans_order_id in targets:
        _stop_at_midtrans(attempt_id, midtrans_order_id)
    order = orders.find_order(order_id, lock=True)
    if order.status != "pending" or order.payment_status in ("paid", "challenge"):
        db.session.commit()
        return f"order is {order.status}"
    db.session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(("creating", "pending")))
        .values(status="expired", updated_at=utcnow())
    )
    closed = orders.close_unpaid(order, "expired", "not paid in time")
    if closed:
        orders.set_payment_status(order.id, "expired")
    db.session.commit()
    log.info("order_expired order_id=%s released=%s", order_id, closed)
    return "expired" if closed else f"order is {order.status}"


def _stop_at_midtrans(attempt_id, midtrans_order_id):
    """Expire the transaction at Midtrans so it cannot be paid any more, then apply what is true now."""
    try:
        gateway().expire(midtrans_order_id)
    except GatewayError as error:
        if error.transient:
            raise
        # 404 (no method was ever chosen) or 412 (already final): the status below tells which.
    state = gateway().status(midtrans_order_id)
    if state.found:
        apply_state(attempt_id, state, "expiry")


# Staff: cancel, with a refund when paid


def cancel_order(order_id, user, reason, refund_manually=False):
    order = orders.find_order(order_id)
    if order.status in ("completed", "expired", "cancelled", "failed"):
        abort(409, message=f"The order is {order.status}; it cannot be cancelled.")
    reason = reason or f"cancelled by {user.username}"
    if order.status == "pending":
        targets = [(a.id, a.midtrans_order_id) for a in db.session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(("creating", "pending"))))]
        db.session.rollback()
        for attempt_id, midtrans_order_id in targets:
            _stop_at_midtrans(attempt_id, midtrans_order_id)
        order = orders.find_order(order_id, lock=True)
        if order.status == "pending" and orders.close_unpaid(order, "cancelled", reason):
            # Not payable any more from our side; a payment Midtrans still takes is recorded (states.py).
            db.session.execute(
                update(PaymentAttempt)
                .where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(("creating", "pending")))
                .values(status="cancelled", updated_at=utcnow())
            )
            orders.set_payment_status(order.id, "cancelled")
            db.session.commit()
            return orders.find_order(order_id)
        db.session.rollback()
        order = orders.find_order(order_id)
    if user.role not in MANAGERS:
        # Cancelling a paid order gives money back: like a refund at the till, a manager's call.
        abort(403, message="Only an admin or a supervisor may cancel a paid order (it is refunded).")
    return _cancel_paid(order, reason, refund_manually)


def _cancel_paid(order, reason, refund_manually):
    paid = db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order.id,
                                     PaymentAttempt.status.in_(("paid", "partially_refunded")))
    ).first()
    if paid is None:
        abort(409, message=f"The order is {order.status} without a paid payment; nothing to refund.")
    amount = paid.amount_idr - paid.refunded_idr
    attempt_id = paid.id
    if refund_manually:
        _event(paid, "manual_refund", amount, reason)
        paid.status, paid.refunded_idr = "refunded", paid.amount_idr
    else:
        midtrans_order_id = paid.midtrans_order_id
        db.session.rollback()
        try:
            gateway().refund(midtrans_order_id, amount, reason, refund_key=f"{midtrans_order_id}-cancel")
        except GatewayError as error:
            abort(409 if not error.transient else 503,
                  message=f"Midtrans did not refund: {error.message}. If you refund the customer yourself, "
                          "cancel again with refund_manually: true.")
        paid = db.session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if paid.status != "refunded":
            _event(paid, "refund", amount, reason)
            paid.status, paid.refunded_idr = "refunded", paid.amount_idr
    order = orders.find_order(order.id, lock=True)
    orders.set_payment_status(order.id, "refunded")
    db.session.execute(
        update(Order).where(Order.id == order.id, Order.status.in_(("paid", "preparing", "ready")))
        .values(status="cancelled", cancelled_at=utcnow(), cancel_reason=reason, refunded_idr=order.total_idr)
    )
    orders.release_stock(order.id, order.store_id, order.items)
    db.session.commit()
    return orders.find_order(order.id)


def order_detail(order_id):
    """The order with its payment attempts, notifications and money events, for the staff screen."""
    order = orders.find_order(order_id)
    order.payments = attempts_of(order.id)
    order.notifications = notifications_of(order.id)
    order.payment_events = events_of(order.id)
    return order


def attempts_of(order_id):
    return db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order_id).order_by(PaymentAttempt.attempt_no)
    ).all()


def notifications_of(order_id):
    ids = [a.midtrans_order_id for a in attempts_of(order_id)]
    if not ids:
        return []
    return db.session.scalars(
        select(WebhookLog).where(WebhookLog.midtrans_order_id.in_(ids)).order_by(WebhookLog.id)
    ).all()


def events_of(order_id):
    return db.session.scalars(
        select(PaymentEvent).join(PaymentAttempt, PaymentAttempt.id == PaymentEvent.attempt_id)
        .where(PaymentAttempt.order_id == order_id).order_by(PaymentEvent.id)
    ).all()


def notification_target(log_id):
    """The Midtrans order_id of a stored notification still to process, or None."""
    entry = db.session.get(WebhookLog, log_id)
    if entry is None or entry.processing_status != "received":
        return None
    return entry.midtrans_order_id


def sweep(*, reconcile_attempt, create_snap_token, process_notification, expire_order):
    """Queue the follow-up work beat is for; each queued task is idempotent."""
    from app.orders.services import due_for_expiry

    counts = {
        "reconcile": _send_each(reconcile_attempt, quiet_attempts()),
        "recreate": _send_each(create_snap_token, stuck_creating_attempts()),
        "requeued_notifications": _send_each(process_notification, unprocessed_notifications()),
        "expire": _send_each(expire_order, [str(order_id) for order_id in due_for_expiry()]),
    }
    db.session.rollback()
    return counts


def _send_each(task, ids):
    for item in ids:
        task.delay(item)
    return len(ids)
