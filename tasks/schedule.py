"""The Celery Beat schedule, in one place."""

from celery.schedules import crontab


def beat_schedule(config):
    """Periodic tasks; periods come from the app's configuration. Times are UTC."""
    return {
        "reconcile-payments": {"task": "payments.reconcile", "schedule": float(config["RECONCILE_INTERVAL_SECONDS"])},
        "purge-idempotency-keys": {"task": "maintenance.purge_idempotency_keys", "schedule": 3600.0},
        "drop-old-sale-sequences": {
            "task": "maintenance.drop_old_sale_sequences",
            "schedule": crontab(hour=19, minute=30),  # 02:30 in Jakarta
        },
    }
