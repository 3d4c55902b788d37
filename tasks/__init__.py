"""Celery tasks: thin, take ids, call one service function, safe to run twice."""
