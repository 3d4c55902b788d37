"""Celery's entry point: `celery -A celery_worker worker` and `celery -A celery_worker beat`."""

import tasks
from app import create_app
from tasks.schedule import beat_schedule

flask_app = create_app()
celery = flask_app.extensions["celery"]
# The worker's tasks and beat's schedule belong here: the API sends work by name and needs neither.
celery.conf.update(include=list(tasks.MODULES), beat_schedule=beat_schedule(flask_app.config))
