"""Bringing an attempt (and its order) to what Midtrans's status API says.

`apply_state` is the one code path that changes an attempt's status. It
locks the attempt row and moves it forward only (`payments.states`), so
duplicate, racing and out-of-order notifications change nothing twice.
"""

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from app.extensions import db
from app.models import utcnow
from app.orders import services as orders
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.payments import states
from app.payments.gateway import TransactionState
from app.payments.models import AttemptStatus, PaymentAttempt, PaymentEvent

log = logging.getLogger(__name__)


def is_latest_attempt(attempt: PaymentAttempt) -> bool:
    latest_no = db.session.scalar(
        select(func.max(PaymentAttempt.attempt_no)).where(PaymentAttempt.order_id == attempt.order_id)
    )
    return latest_no == attempt.attempt_no


def _refunded_amount(state: TransactionState) -> int:
    try:
        return int(float(state.raw.get("refund_amount") or 0))
    except (TypeError, ValueError):
        return 0


def apply_state(attempt_id: int, state: TransactionState, source: str) -> str:
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

    if new in (AttemptStatus.PAID, AttemptStatus.CHALLENGE) and state.amount_idr != attempt.amount_idr:
        record_event(attempt, "amount_mismatch", state.amount_idr,
               f"Midtrans says {state.gross_amount}, the attempt is for {attempt.amount_idr}")
        db.session.commit()
        log.error("payment_amount_mismatch attempt_id=%s", attempt.id)
        return f"ignored: amount {state.gross_amount} does not match {attempt.amount_idr} ({source})"
    refunded = _refunded_amount(state)
    more_refunded = new == AttemptStatus.PARTIALLY_REFUNDED and refunded != attempt.refunded_idr
    if new is None or (new == current and not more_refunded):
        db.session.commit()
        return f"attempt {attempt.attempt_no}: no change, still {current} ({source})"
    if new != current and not states.may_move(current, new):
        db.session.commit()
        return f"attempt {attempt.attempt_no}: {state.transaction_status} after {current} ignored ({source})"

    attempt.status = new
    attempt.updated_at = utcnow()
    order = db.session.get_one(Order, attempt.order_id)
    outcome = _order_effects(attempt, order, current, new, state, refunded)
    if is_latest_attempt(attempt) or new == AttemptStatus.PAID:
        orders.set_payment_status(order.id, PaymentStatus(new))
    db.session.commit()
    log.info("payment_state_applied attempt_id=%s from=%s to=%s source=%s", attempt.id, current, new, source)
    return f"attempt {attempt.attempt_no}: {current} -> {new}; {outcome} ({source})"


def _order_effects(attempt: PaymentAttempt, order: Order, current: str, new: str, state: TransactionState,
                   refunded: int) -> str | None:
    if new == AttemptStatus.PAID:
        attempt.paid_at = utcnow()
        outcome = orders.mark_paid(order, attempt.paid_at)
        if outcome.endswith("needs a refund"):
            record_event(attempt, "paid_after_close", attempt.amount_idr, outcome)
        return outcome
    if new == AttemptStatus.CHALLENGE:
        return "held for fraud review"
    if new in (AttemptStatus.REFUNDED, AttemptStatus.PARTIALLY_REFUNDED):
        amount = refunded or (attempt.amount_idr if new == AttemptStatus.REFUNDED else 0)
        kind = "chargeback" if "chargeback" in (state.transaction_status or "") else "refund"
        record_event(attempt, kind, amount - attempt.refunded_idr, f"Midtrans {state.transaction_status}")
        attempt.refunded_idr = amount
        order.refunded_idr = min(order.total_idr, amount)
        return f"{kind} of {amount} recorded"
    if current == AttemptStatus.PAID:
        # Midtrans reversed a settled payment (deny after settlement, or a cancel).
        record_event(attempt, "reversed", attempt.amount_idr, f"Midtrans {state.transaction_status} after payment")
        return "payment reversed after it was paid: review the order"
    if new == AttemptStatus.CANCELLED:
        closed = orders.close_unpaid(order, OrderStatus.CANCELLED, f"payment {state.transaction_status}")
        return "order closed, stock released" if closed else f"order already {order.status}"
    # A denied or failed payment (a card the bank refused) leaves the order open: the customer may
    # start another attempt, with another method, until the order expires and releases its stock.
    if new == AttemptStatus.EXPIRED and order.status == OrderStatus.PENDING and order.expires_at <= utcnow():
        closed = orders.close_unpaid(order, OrderStatus.EXPIRED, "payment expired")
        return "order expired, stock released" if closed else f"order already {order.status}"
    return "the customer may try to pay again"


def record_event(attempt: PaymentAttempt, kind: str, amount: int | None, detail: str) -> None:
    db.session.add(PaymentEvent(attempt_id=attempt.id, kind=kind, amount_idr=amount, detail=detail[:500]))


def events_of(order_id: uuid.UUID) -> Sequence[PaymentEvent]:
    return db.session.scalars(
        select(PaymentEvent).join(PaymentAttempt, PaymentAttempt.id == PaymentEvent.attempt_id)
        .where(PaymentAttempt.order_id == order_id).order_by(PaymentEvent.id)
    ).all()
