"""Fault switches for tests and demos, shared by all worker processes."""

import json

# name -> (default, validator returning the stored value or raising ValueError)


def _non_negative_int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a non-negative integer")
    return value


def _http_error_status(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise ValueError("must be an HTTP error status (400-599) or null")
    return value


def _flag(value):
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _copies(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise ValueError("must be an integer from 1 to 20 (copies of each notification)")
    return value


FAULTS = {
    "snap_latency_ms": (0, _non_negative_int),
    "snap_error_status": (None, _http_error_status),
    "status_latency_ms": (0, _non_negative_int),
    "drop_notifications": (False, _flag),
    "duplicate_notifications": (1, _copies),
    "shuffle_notifications": (False, _flag),
}


def defaults() -> dict:
    return {name: default for name, (default, _) in FAULTS.items()}


def load(store) -> dict:
    current = defaults()
    for row in store.query("SELECT name, value_json FROM faults"):
        if row["name"] in current:
            current[row["name"]] = json.loads(row["value_json"])
    return current


def validate(changes: dict) -> tuple[dict, dict]:
    """Returns (clean changes, errors). A null value means back to the default."""
    clean, errors = {}, {}
    for name, value in changes.items():
        if name not in FAULTS:
            errors[name] = "unknown fault"
            continue
        default, check = FAULTS[name]
        try:
            clean[name] = default if value is None else check(value)
        except ValueError as exc:
            errors[name] = str(exc)
    return clean, errors


def save(store, changes: dict) -> None:
    with store.transaction() as conn:
        for name, value in changes.items():
            conn.execute(
                "INSERT INTO faults (name, value_json) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value_json = excluded.value_json",
                (name, json.dumps(value)),
            )


def clear(store) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM faults")
