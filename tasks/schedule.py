"""The Celery Beat schedule, in one place."""

from celery.schedules import crontab


def beat_schedule(config):
    """Periodic tasks; periods come from the app's configuration. Clock times are the store's (STORE_TIMEZONE)."""
    return {
        "reconcile-payments": {"task": "payments.reconcile", "schedule": float(config["RECONCILE_INTERVAL_SECONDS"])},
        "purge-idempotency-keys": {"task": "maintenance.purge_idempotency_keys", "schedule": 3600.0},
        "purge-refused-notifications": {"task": "maintenance.purge_refused_notifications", "schedule": 3600.0},
        "purge-revoked-tokens": {"task": "maintenance.purge_revoked_tokens", "schedule": 3600.0},
        "drop-old-sale-sequences": {"task": "maintenance.drop_old_sale_sequences", "schedule": crontab(hour=2, minute=30)},
        "build-daily-summaries": {"task": "reports.build_recent_days", "schedule": crontab(hour=0, minute=15)},
        "clean-up-exports": {"task": "reports.clean_up_exports", "schedule": 3600.0},
    }
