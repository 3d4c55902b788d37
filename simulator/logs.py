"""Structured log lines: an event name followed by key=value fields."""

import logging


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields) -> None:
    parts = [event] + [f"{key}={_format(value)}" for key, value in fields.items()]
    logger.log(level, " ".join(parts))


def _format(value) -> str:
    text = "-" if value is None else str(value)
    return f'"{text}"' if " " in text else text
