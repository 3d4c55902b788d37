"""Is each part of the stack answering?"""

import logging
import time
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from flask import current_app
from sqlalchemy import text

from app import task_names
from app.extensions import db, redis_client
from app.tasking import send_task

log = logging.getLogger(__name__)


def _describe(error: BaseException) -> str:
    return f"error: {type(error).__name__}"


def check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:
        db.session.rollback()
        log.warning("health_database_failed error=%s", type(error).__name__)
        return _describe(error)


def check_redis() -> str:
    try:
        redis_client.ping()
        return "ok"
    except Exception as error:
        log.warning("health_redis_failed error=%s", type(error).__name__)
        return _describe(error)


# The last worker check per process: the endpoint is public, and without this
# every call would queue a ping and hold an API worker for up to the timeout.
_last_worker_check: dict[str, Any] = {"at": float("-inf"), "answer": None}


def check_worker() -> str:
    """The worker's state, re-checked at most every HEALTH_WORKER_CACHE_SECONDS."""
    now = time.monotonic()
    if now - _last_worker_check["at"] >= current_app.config["HEALTH_WORKER_CACHE_SECONDS"]:
        _last_worker_check["answer"] = _ping_worker()
        _last_worker_check["at"] = time.monotonic()
    return _last_worker_check["answer"]


def _ping_worker() -> str:
    """Round-trip a ping task; the message expires so no worker means no backlog."""
    timeout = current_app.config["HEALTH_WORKER_TIMEOUT_SECONDS"]
    try:
        result = send_task(task_names.PING, expires=timeout + 5)
        try:
            return "ok" if result.get(timeout=timeout) == "pong" else "error: unexpected answer"
        finally:
            result.forget()
    except CeleryTimeout:
        return "error: no worker answered within %gs" % timeout
    except Exception as error:
        log.warning("health_worker_failed error=%s", type(error).__name__)
        return _describe(error)


def health() -> tuple[dict[str, str], bool]:
    report = {"db": check_database(), "redis": check_redis()}
    report["worker"] = check_worker() if report["redis"] == "ok" else "error: broker unavailable"
    healthy = report["db"] == "ok" and report["redis"] == "ok"
    return report, healthy
