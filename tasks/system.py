"""Tasks about the worker itself."""

from celery import shared_task

from app import task_names


@shared_task(name=task_names.PING, acks_late=False, ignore_result=False)
def ping() -> str:
    """Answers the health check, proving a worker is consuming the queue."""
    return "pong"


@shared_task(name=task_names.NOOP, ignore_result=True)
def noop() -> None:
    """Does nothing: bench/webhooks.py measures the queue's own rate with it."""
