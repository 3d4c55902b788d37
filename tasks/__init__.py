"""Celery tasks: thin, take ids, call one service function, safe to run twice."""

# What the worker imports (celery_worker.py); the API only sends by name (app.task_names).
MODULES = ("tasks.system", "tasks.inventory", "tasks.catalog", "tasks.maintenance", "tasks.payments", "tasks.reports")
