"""The Celery worker: a task sent through the broker is run by the real worker process and its result comes back."""

import pytest

from app import task_names
from app.extensions import db
from app.tasking import enqueue_after_commit, send_task
from tasks.schedule import beat_schedule
from tasks.system import ping


def test_ping_round_trips_through_the_real_worker(app, celery_worker):
    celery = app.extensions["celery"]
    assert not celery.conf.task_always_eager

    result = ping.apply_async()

    assert result.get(timeout=15) == "pong"
    assert result.successful()
    assert celery_worker.poll() is None  # the worker process is still running


def test_a_task_sent_by_name_is_run_too(app, celery_worker):
    result = app.extensions["celery"].send_task("system.ping")
    assert result.get(timeout=15) == "pong"


def _registered(app, *fields):
    """The worker's tasks as {name: "field=value ..."} (Celery's own tasks left out)."""
    replies = app.extensions["celery"].control.inspect(timeout=5).registered(*fields) or {}
    registered = {}
    for entries in replies.values():
        for entry in entries:
            name, _, info = entry.partition(" ")
            if not name.startswith("celery."):
                registered[name] = info
    return registered


def test_every_task_beat_schedules_is_registered_by_the_worker(app, celery_worker):
    registered = set(_registered(app))

    scheduled = {entry["task"] for entry in beat_schedule(app.config).values()}

    assert scheduled and scheduled <= registered, scheduled - registered


def test_the_worker_registers_every_task_name_the_app_sends_and_no_other(app, celery_worker):
    registered = _registered(app, "ignore_result")

    assert set(registered) == task_names.all_names()
    # The sender's ignore_result wins over the task's; they must agree (app.task_names.RESULT_IGNORED).
    ignored = {name for name, info in registered.items() if "ignore_result=True" in info}
    assert ignored == task_names.RESULT_IGNORED


def test_a_misspelt_task_name_is_refused_where_it_is_sent(app):
    with app.app_context():
        with pytest.raises(ValueError, match="Unknown task name 'payments.create_snap_tokens'"):
            enqueue_after_commit(db.session, "payments.create_snap_tokens", 1)
        with pytest.raises(ValueError, match="Unknown task name 'system.pong'"):
            send_task("system.pong")


def test_the_purge_of_refused_notifications_runs_on_the_worker(app, client, celery_worker):
    client.post("/api/webhooks/midtrans", data="not json", content_type="application/json")

    result = app.extensions["celery"].send_task("maintenance.purge_refused_notifications")

    assert result.get(timeout=15) == 0  # the row is recent: kept
