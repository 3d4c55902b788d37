"""The Celery worker: a task sent through the broker is run by the real worker process and its result comes back."""

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


def test_every_task_beat_schedules_is_registered_by_the_worker(app, celery_worker):
    celery = app.extensions["celery"]
    registered = set()
    for names in (celery.control.inspect(timeout=5).registered() or {}).values():
        registered.update(names)

    scheduled = {entry["task"] for entry in celery.conf.beat_schedule.values()}

    assert scheduled and scheduled <= registered, scheduled - registered


def test_the_purge_of_refused_notifications_runs_on_the_worker(app, client, celery_worker):
    client.post("/api/webhooks/midtrans", data="not json", content_type="application/json")

    result = app.extensions["celery"].send_task("maintenance.purge_refused_notifications")

    assert result.get(timeout=15) == 0  # the row is recent: kept
