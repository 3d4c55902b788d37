"""Payment attempts: starting one (or handing back a live one), and its Snap token.

Each attempt has its own Midtrans order_id. A Celery task asks Snap for the
token (`create_snap_token`); the create endpoint waits briefly for it.
"""

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update

from app import task_names
from app.domain import Conflict, NotFound
from app.extensions import db
from app.idempotency import Claim
from app.models import utcnow
from app.orders import services as orders
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.payments.gateway import GatewayError, gateway
from app.payments.models import AttemptStatus, PaymentAttempt
from app.payments.transitions import is_latest_attempt
from app.tasking import enqueue_after_commit

log = logging.getLogger(__name__)

MIDTRANS_NAME_LIMIT = 50


def latest_attempt(order_id: uuid.UUID) -> PaymentAttempt | None:
    return db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order_id).order_by(PaymentAttempt.attempt_no.desc())
    ).first()


def start_payment(order_id: uuid.UUID, claim: Claim | None = None) -> tuple[int, bool]:
    """The attempt to show the customer: a live one again, or a new one. Returns (attempt_id, is_new).

    `claim` is the request's Idempotency-Key claim, completed with the attempt.
    """
    order = orders.find_order(order_id, lock=True)
    if order.status != OrderStatus.PENDING:
        raise Conflict(f"The order is {order.status}; there is nothing to pay.")
    if order.expires_at <= utcnow():
        raise Conflict("The order's time to pay has run out; place it again.")
    _hold_for_payment(order)
    latest = latest_attempt(order.id)
    if latest is not None and _still_usable(latest):
        if claim is not None:
            claim.complete(latest.id, 201)
        db.session.commit()
        return latest.id, False
    number = (latest.attempt_no if latest else 0) + 1
    attempt = PaymentAttempt(
        order_id=order.id,
        attempt_no=number,
        # Midtrans accepts an order_id once, ever: each attempt has its own.
        midtrans_order_id=f"{order.id.hex}-{number}",
        status=AttemptStatus.CREATING,
        amount_idr=order.total_idr,
        refunded_idr=0,
    )
    db.session.add(attempt)
    db.session.flush()
    orders.set_payment_status(order.id, PaymentStatus.CREATING)
    enqueue_after_commit(db.session, task_names.CREATE_SNAP_TOKEN, attempt.id)
    if claim is not None:
        claim.complete(attempt.id, 201)
    db.session.commit()
    log.info("payment_attempt_started order_id=%s attempt=%s", order.id, number)
    return attempt.id, True


def _hold_for_payment(order: Order) -> None:
    """A payment is starting: the order keeps its stock until ORDER_PAYMENT_TTL_MINUTES after it was placed.

    Placing holds the stock only briefly (ORDER_HOLD_MINUTES, app/orders/holds.py);
    the customer who goes on to pay gets the full time. Never shortened. The
    Snap expiry follows (`snap_params` and the token's expiry use `expires_at`).
    """
    extended = order.created_at + timedelta(minutes=current_app.config["ORDER_PAYMENT_TTL_MINUTES"])
    if extended > order.expires_at:
        order.expires_at = extended


def _still_usable(attempt: PaymentAttempt) -> bool:
    if attempt.status == AttemptStatus.CREATING:
        return True
    if attempt.status in (AttemptStatus.PENDING, AttemptStatus.CHALLENGE, AttemptStatus.PAID):
        return (attempt.token_expires_at is None or attempt.token_expires_at > utcnow()
                or attempt.status != AttemptStatus.PENDING)
    return False


def wait_for_token(attempt_id: int) -> PaymentAttempt:
    """Poll briefly for the worker to fill in the token; returns the attempt as it then stands."""
    deadline = time.monotonic() + current_app.config["PAYMENT_TOKEN_WAIT_SECONDS"]
    while True:
        attempt = db.session.get_one(PaymentAttempt, attempt_id, populate_existing=True)
        if attempt.status != AttemptStatus.CREATING or time.monotonic() >= deadline:
            return attempt
        db.session.rollback()  # a fresh snapshot for the next look
        time.sleep(0.1)


def attempt_for_order(order_id: uuid.UUID) -> PaymentAttempt:
    order = orders.find_order(order_id)
    attempt = latest_attempt(order.id)
    if attempt is None:
        raise NotFound("No payment has been started for this order.")
    return attempt


def snap_params(order: Order, attempt: PaymentAttempt) -> dict[str, Any]:
    """Snap's request for this attempt; item_details always add up to gross_amount."""
    items: list[dict[str, Any]] = [
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


def create_snap_token(attempt_id: int) -> None:
    """Ask Snap for the attempt's token, once. Transient Midtrans failures raise GatewayError for a retry."""
    attempt = db.session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.status != AttemptStatus.CREATING:
        return
    order = db.session.get_one(Order, attempt.order_id)
    if order.status != OrderStatus.PENDING or order.expires_at <= utcnow() + timedelta(seconds=30):
        closing = order.status if order.status != OrderStatus.PENDING else "about to expire"
        fail_attempt(attempt_id, f"The order is {closing}.")
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
    moved = db.session.execute(  # type: ignore[attr-defined]  # DML gives a CursorResult
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id, PaymentAttempt.status == AttemptStatus.CREATING)
        .values(status=AttemptStatus.PENDING, snap_token=token.token, redirect_url=token.redirect_url,
                token_expires_at=order.expires_at, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved:
        orders.set_payment_status(order.id, PaymentStatus.PENDING)
    db.session.commit()


def fail_attempt(attempt_id: int, reason: str) -> None:
    db.session.rollback()
    attempt = db.session.get_one(PaymentAttempt, attempt_id)
    moved = db.session.execute(  # type: ignore[attr-defined]  # DML gives a CursorResult
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt_id, PaymentAttempt.status == AttemptStatus.CREATING)
        .values(status=AttemptStatus.FAILED, failure_reason=reason[:500], updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved and is_latest_attempt(attempt):
        orders.set_payment_status(attempt.order_id, PaymentStatus.FAILED)
    db.session.commit()
    log.warning("payment_attempt_failed attempt_id=%s reason=%s", attempt_id, reason[:200])


def attempts_of(order_id: uuid.UUID) -> Sequence[PaymentAttempt]:
    return db.session.scalars(
        select(PaymentAttempt).where(PaymentAttempt.order_id == order_id).order_by(PaymentAttempt.attempt_no)
    ).all()
