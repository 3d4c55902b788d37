"""Celery bound to Flask, and enqueueing that waits for the database commit.

Tasks run inside an app context (`FlaskTask`). They are acknowledged late and
rejected when their worker dies, so a task must be safe to run twice: that is
the rule for every task in `tasks/`.

`enqueue_after_commit` is how services hand work to Celery: the task is sent
only once the surrounding transaction has committed, so a worker never looks
for rows that do not exist yet, and a rolled-back request sends nothing.
"""

import logging

from celery import Celery, Task
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

TASK_MODULES = ("tasks.system", "tasks.inventory", "tasks.catalog", "tasks.maintenance", "tasks.payments", "tasks.reports")
_PENDING_KEY = "pos_tasks_after_commit"


def celery_init_app(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask, include=list(TASK_MODULES))
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
    from tasks.schedule import beat_schedule

    celery.conf.beat_schedule = beat_schedule(app.config)
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def enqueue_after_commit(session, task, *args, **kwargs):
    """Send `task` with these arguments when `session` commits; drop it on rollback."""
    session.info.setdefault(_PENDING_KEY, []).append((task, args, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending_tasks(session):
    pending = session.info.pop(_PENDING_KEY, [])
    for task, args, kwargs in pending:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:
            # The rows are committed; the beat sweeps that look for unfinished
            # work pick this up, so a broker outage must not fail the request.
            log.exception("task_enqueue_failed task=%s", task.name)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_tasks(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
