"""Celery bound to Flask, and enqueueing that waits for the database commit.

Tasks run inside an app context (`FlaskTask`). They are acknowledged late and
rejected when their worker dies, so a task must be safe to run twice: that is
the rule for every task in `tasks/`.

`enqueue_after_commit` is how services hand work to Celery: the task is sent
only once the surrounding transaction has committed, so a worker never looks
for rows that do not exist yet, and a rolled-back request sends nothing.

Work is sent by name (`app.task_names`), never by importing `tasks/`: the
tasks sit above the services they call. Which modules the worker imports and
what beat schedules are the worker's business, set in `celery_worker.py`.
"""

import logging
from typing import Any

from celery import Celery, Task
from celery.result import AsyncResult
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from app import task_names

log = logging.getLogger(__name__)

_PENDING_KEY = "pos_tasks_after_commit"
_KNOWN_TASKS = frozenset(task_names.all_names())


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        result_backend=app.config["CELERY_RESULT_BACKEND"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=120,
        task_time_limit=180,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        # A task is redelivered if unacknowledged this long; longer than any time limit.
        broker_transport_options={"visibility_timeout": 900},
        # Crontab schedules read in the store's time zone ("nightly" means the store's night).
        timezone=app.config["STORE_TIMEZONE"],
        enable_utc=True,
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def send_task(name: str, *args: Any, **options: Any) -> AsyncResult:
    """Send the task called `name` with these arguments now; `options` as for `apply_async` (expires, ...)."""
    _check_known(name)
    options.setdefault("ignore_result", name in task_names.RESULT_IGNORED)
    return current_app.extensions["celery"].send_task(name, args=args, **options)


def enqueue_after_commit(session: Session | scoped_session[Any], name: str, *args: Any) -> None:
    """Send the task called `name` with these arguments when `session` commits; drop it on rollback."""
    _check_known(name)
    session.info.setdefault(_PENDING_KEY, []).append((name, args))


def _check_known(name: str) -> None:
    # No worker would run it: fail where it is sent, not as a message nobody consumes.
    if name not in _KNOWN_TASKS:
        raise ValueError(f"Unknown task name {name!r}; task names live in app/task_names.py.")


@event.listens_for(Session, "after_commit")
def _send_pending_tasks(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, [])
    for name, args in pending:
        try:
            send_task(name, *args)
        except Exception:
            # The rows are committed; the beat sweeps that look for unfinished
            # work pick this up, so a broker outage must not fail the request.
            log.exception("task_enqueue_failed task=%s", name)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_tasks(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
