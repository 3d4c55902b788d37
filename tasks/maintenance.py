"""Housekeeping run by beat."""

from celery import shared_task

from app import idempotency, task_names
from app.auth import tokens
from app.payments import notifications
from app.sales import numbering


@shared_task(name=task_names.PURGE_IDEMPOTENCY_KEYS)
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()


@shared_task(name=task_names.DROP_OLD_SALE_SEQUENCES)
def drop_old_sale_sequences() -> int:
    return numbering.drop_old_sequences()


@shared_task(name=task_names.PURGE_REFUSED_NOTIFICATIONS)
def purge_refused_notifications() -> int:
    return notifications.purge_refused()


@shared_task(name=task_names.PURGE_REVOKED_TOKENS)
def purge_revoked_tokens() -> int:
    return tokens.purge_expired_revocations()
