"""Keeping payments true to Midtrans over time, and the staff's side of them.

- Beat (`sweep`) asks the status API about attempts that went quiet,
  re-queues stored notifications that were never processed, and expires
  unpaid orders (stopping their payments at Midtrans first).
- Staff cancel orders; a paid one is refunded through Midtrans.

Starting payments is in `attempts`, notifications in `notifications`, and
every status change goes through `transitions.apply_state`.
"""

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from app import task_names
from app.auth.policy import MANAGERS
from app.domain import Conflict, Forbidden, Unavailable
from app.extensions import db
from app.models import utcnow
from app.orders import services as orders
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.payments import states
from app.payments.gateway import GatewayError, gateway
from app.payments.models import AttemptStatus, PaymentAttempt
from app.payments.attempts import attempts_of
from app.payments.notifications import notifications_of, unprocessed_notifications
from app.payments.transitions import apply_state, events_of, record_event
from app.tasking import send_task
from app.users.models import User

log = logging.getLogger(__name__)


def quiet_attempts(limit: int = 500) -> Sequence[int]:
    """Open attempts with no news for the grace period: ask Midtrans about them."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["PAYMENT_RECONCILE_GRACE_SECONDS"])
    return db.session.scalars(
        select(PaymentAttempt.id)
        .where(
            PaymentAttempt.status.in_((AttemptStatus.PENDING, AttemptStatus.CHALLENGE)),
            PaymentAttempt.created_at < cutoff,
            or_(PaymentAttempt.last_checked_at.is_(None), PaymentAttempt.last_checked_at < cutoff),
        )
        .order_by(PaymentAttempt.last_checked_at.nulls_first())
        .limit(limit)
    ).all()


def stuck_creating_attempts(limit: int = 200) -> Sequence[int]:
    cutoff = utcnow() - timedelta(seconds=current_app.config["PAYMENT_RECONCILE_GRACE_SECONDS"])
    return db.session.scalars(
        select(PaymentAttempt.id).where(PaymentAttempt.status == AttemptStatus.CREATING, PaymentAttempt.updated_at < cutoff)
        .limit(limit)
    ).all()


def reconcile_attempt(attempt_id: int) -> str | None:
    attempt = db.session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.status not in states.OPEN:
        return None
    midtrans_order_id = attempt.midtrans_order_id
    db.session.rollback()
    return apply_state(attempt_id, gateway().status(midtrans_order_id), "reconciliation")


def expire_order(order_id: uuid.UUID | str) -> str:
    """Close an order whose time ran out: stop its payments at Midtrans first, then release its stock once."""
    order_id = uuid.UUID(str(order_id))
    order = db.session.get(Order, order_id)
    if (order is None or order.status != OrderStatus.PENDING or order.expires_at > utcnow()
            or order.payment_status == PaymentStatus.CHALLENGE):
        return "not due"
    open_attempts = db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(states.UNANSWERED))
    ).all()
    targets = [(a.id, a.midtrans_order_id) for a in open_attempts]
    db.session.rollback()
    for attempt_id, midtrans_order_id in targets:
        _stop_at_midtrans(attempt_id, midtrans_order_id)
    order = orders.find_order(order_id, lock=True)
    if order.status != OrderStatus.PENDING or order.payment_status in (PaymentStatus.PAID, PaymentStatus.CHALLENGE):
        db.session.commit()
        return f"order is {order.status}"
    db.session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(states.UNANSWERED))
        .values(status=AttemptStatus.EXPIRED, updated_at=utcnow())
    )
    closed = orders.close_unpaid(order, OrderStatus.EXPIRED, "not paid in time")
    if closed:
        orders.set_payment_status(order.id, PaymentStatus.EXPIRED)
    db.session.commit()
    log.info("order_expired order_id=%s released=%s", order_id, closed)
    return "expired" if closed else f"order is {order.status}"


def _stop_at_midtrans(attempt_id: int, midtrans_order_id: str) -> None:
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


def cancel_order(order_id: uuid.UUID, user: User, reason: str | None, refund_manually: bool = False) -> Order:
    order = orders.find_order(order_id)
    if order.status in (OrderStatus.COMPLETED, OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.FAILED):
        raise Conflict(f"The order is {order.status}; it cannot be cancelled.")
    reason = reason or f"cancelled by {user.username}"
    if order.status == OrderStatus.PENDING:
        targets = [(a.id, a.midtrans_order_id) for a in db.session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(states.UNANSWERED)))]
        db.session.rollback()
        for attempt_id, midtrans_order_id in targets:
            _stop_at_midtrans(attempt_id, midtrans_order_id)
        order = orders.find_order(order_id, lock=True)
        if order.status == OrderStatus.PENDING and orders.close_unpaid(order, OrderStatus.CANCELLED, reason):
            # Not payable any more from our side; a payment Midtrans still takes is recorded (states.py).
            db.session.execute(
                update(PaymentAttempt)
                .where(PaymentAttempt.order_id == order.id, PaymentAttempt.status.in_(states.UNANSWERED))
                .values(status=AttemptStatus.CANCELLED, updated_at=utcnow())
            )
            orders.set_payment_status(order.id, PaymentStatus.CANCELLED)
            db.session.commit()
            return orders.find_order(order_id)
        db.session.rollback()
        order = orders.find_order(order_id)
    if user.role not in MANAGERS:
        # Cancelling a paid order gives money back: like a refund at the till, a manager's call.
        raise Forbidden("Only an admin or a supervisor may cancel a paid order (it is refunded).")
    return _cancel_paid(order, reason, refund_manually)


def _cancel_paid(order: Order, reason: str, refund_manually: bool) -> Order:
    paid = db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order.id,
                                     PaymentAttempt.status.in_((AttemptStatus.PAID, AttemptStatus.PARTIALLY_REFUNDED)))
    ).first()
    if paid is None:
        raise Conflict(f"The order is {order.status} without a paid payment; nothing to refund.")
    amount = paid.amount_idr - paid.refunded_idr
    attempt_id = paid.id
    if refund_manually:
        record_event(paid, "manual_refund", amount, reason)
        paid.status, paid.refunded_idr = AttemptStatus.REFUNDED, paid.amount_idr
    else:
        midtrans_order_id = paid.midtrans_order_id
        db.session.rollback()
        try:
            gateway().refund(midtrans_order_id, amount, reason, refund_key=f"{midtrans_order_id}-cancel")
        except GatewayError as error:
            refused = Unavailable if error.transient else Conflict
            raise refused(f"Midtrans did not refund: {error.message}. If you refund the customer yourself, "
                          "cancel again with refund_manually: true.")
        paid = db.session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if paid.status != AttemptStatus.REFUNDED:
            record_event(paid, "refund", amount, reason)
            paid.status, paid.refunded_idr = AttemptStatus.REFUNDED, paid.amount_idr
    order = orders.find_order(order.id, lock=True)
    orders.set_payment_status(order.id, PaymentStatus.REFUNDED)
    db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_((OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY)))
        .values(status=OrderStatus.CANCELLED, cancelled_at=utcnow(), cancel_reason=reason, refunded_idr=order.total_idr)
    )
    orders.release_stock(order.id, order.store_id, order.items)
    db.session.commit()
    return orders.find_order(order.id)


def order_detail(order_id: uuid.UUID) -> Order:
    """The order with its payment attempts, notifications and money events, for the staff screen."""
    order = orders.find_order(order_id)
    order.payments = attempts_of(order.id)
    order.notifications = notifications_of(order.id)
    order.payment_events = events_of(order.id)
    return order


def sweep() -> dict[str, int]:
    """Queue the follow-up work beat is for; each queued task is idempotent."""
    from app.orders.services import due_for_expiry

    counts = {
        "reconcile": _send_each(task_names.RECONCILE_ATTEMPT, quiet_attempts()),
        "recreate": _send_each(task_names.CREATE_SNAP_TOKEN, stuck_creating_attempts()),
        "requeued_notifications": _send_each(task_names.PROCESS_NOTIFICATION, unprocessed_notifications()),
        "expire": _send_each(task_names.EXPIRE_ORDER, [str(order_id) for order_id in due_for_expiry()]),
    }
    db.session.rollback()
    return counts


def _send_each(task_name: str, ids: Sequence[object]) -> int:
    for item in ids:
        send_task(task_name, item)
    return len(ids)
