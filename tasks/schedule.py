"""The Celery Beat schedule, in one place."""


def beat_schedule(config):
    """Periodic tasks; periods come from the app's configuration."""
    return {}
