"""The Celery Beat schedule, in one place."""

from collections.abc import Mapping
from typing import Any

from celery.schedules import crontab

from app import task_names


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Periodic tasks; periods come from the app's configuration. Clock times are the store's (STORE_TIMEZONE)."""
    return {
        "reconcile-payments": {
            "task": task_names.RECONCILE_PAYMENTS, "schedule": float(config["RECONCILE_INTERVAL_SECONDS"]),
        },
        "purge-idempotency-keys": {"task": task_names.PURGE_IDEMPOTENCY_KEYS, "schedule": 3600.0},
        "purge-refused-notifications": {"task": task_names.PURGE_REFUSED_NOTIFICATIONS, "schedule": 3600.0},
        "purge-revoked-tokens": {"task": task_names.PURGE_REVOKED_TOKENS, "schedule": 3600.0},
        "drop-old-sale-sequences": {"task": task_names.DROP_OLD_SALE_SEQUENCES, "schedule": crontab(hour=2, minute=30)},
        "build-daily-summaries": {"task": task_names.BUILD_RECENT_DAYS, "schedule": crontab(hour=0, minute=15)},
        "clean-up-exports": {"task": task_names.CLEAN_UP_EXPORTS, "schedule": 3600.0},
    }
