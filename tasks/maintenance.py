"""Housekeeping run by beat."""

from celery import shared_task

from app import idempotency
from app.auth import tokens
from app.payments import notifications
from app.sales import numbering


@shared_task(name="maintenance.purge_idempotency_keys")
def purge_idempotency_keys():
    return idempotency.purge_expired()


@shared_task(name="maintenance.drop_old_sale_sequences")
def drop_old_sale_sequences():
    return numbering.drop_old_sequences()


@shared_task(name="maintenance.purge_refused_notifications")
def purge_refused_notifications():
    return notifications.purge_refused()


@shared_task(name="maintenance.purge_revoked_tokens")
def purge_revoked_tokens():
    return tokens.purge_expired_revocations()
