"""Payment tasks: Snap tokens, notifications, reconciliation, expiry. Each is safe to run twice."""

import logging

import redis
from celery import Task, shared_task
from sqlalchemy.exc import OperationalError

from app import task_names
from app.locks import redis_lock
from app.payments import attempts, notifications, services
from app.payments.gateway import GatewayError

log = logging.getLogger(__name__)
_TRANSIENT = (OperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


# The two tasks sent from requests (payment create, the webhook) keep no result: nobody reads it, and
# sending a task that keeps one first subscribes to the result backend, which with Redis down retries
# for about 20 s before failing, so the webhook answered after Midtrans (15 s) had given up on it.
@shared_task(name=task_names.CREATE_SNAP_TOKEN, bind=True, max_retries=5, autoretry_for=_TRANSIENT, retry_backoff=True,
             ignore_result=True)
def create_snap_token(self: Task, attempt_id: int) -> None:
    try:
        attempts.create_snap_token(attempt_id)
    except GatewayError as error:
        if self.request.retries >= self.max_retries:
            attempts.fail_attempt(attempt_id, f"Midtrans did not answer after several tries: {error.message}")
            return
        raise self.retry(countdown=min(2 ** self.request.retries, 30)) from None


@shared_task(name=task_names.PROCESS_NOTIFICATION, bind=True, max_retries=8, autoretry_for=_TRANSIENT,
             retry_backoff=True, ignore_result=True)
def process_notification(self: Task, log_id: int) -> str | None:
    midtrans_order_id = notifications.notification_target(log_id)
    if midtrans_order_id is None:
        return None
    # The lock only keeps workers from asking Midtrans twice at once; apply_state's
    # row lock and forward-only updates are what make duplicates harmless.
    with redis_lock(f"midtrans:{midtrans_order_id}", timeout=60) as acquired:
        if not acquired:
            raise self.retry(countdown=1, max_retries=30)
        try:
            return notifications.process_notification(log_id)
        except GatewayError as error:
            if self.request.retries >= self.max_retries:
                notifications.mark_notification_failed(log_id, error.message)
                return None
            raise self.retry(countdown=min(2 ** self.request.retries, 60)) from None


@shared_task(name=task_names.RECONCILE_ATTEMPT, autoretry_for=_TRANSIENT, max_retries=3, retry_backoff=True)
def reconcile_attempt(attempt_id: int) -> str | None:
    try:
        return services.reconcile_attempt(attempt_id)
    except GatewayError as error:
        log.warning("reconcile_attempt_failed attempt_id=%s error=%s", attempt_id, error.message)
        return None


@shared_task(name=task_names.EXPIRE_ORDER, autoretry_for=_TRANSIENT, max_retries=3, retry_backoff=True)
def expire_order(order_id: str) -> str | None:
    try:
        return services.expire_order(order_id)
    except GatewayError as error:
        # Midtrans unreachable: the next sweep tries again; the order must not close while it may be paid.
        log.warning("expire_order_deferred order_id=%s error=%s", order_id, error.message)
        return None


@shared_task(name=task_names.RECONCILE_PAYMENTS)
def reconcile() -> dict[str, int]:
    """Beat: ask Midtrans about quiet attempts, re-queue unprocessed notifications, expire unpaid orders."""
    counts = services.sweep()
    log.info("payments_reconcile %s", " ".join(f"{name}={count}" for name, count in counts.items()))
    return counts
