"""Simulator settings, read from the environment in this one place."""

import os

DEFAULTS = {
    "SERVER_KEY": "SB-Mid-server-simulator-dev-key",
    "CLIENT_KEY": "SB-Mid-client-simulator-dev-key",
    "DB": "instance/simulator.sqlite3",
    "PUBLIC_URL": "http://127.0.0.1:5055",
    "NOTIFICATION_URL": None,
    # Multiplies Midtrans's real retry delays (minutes) so tests can use tiny ones.
    "RETRY_SCALE": 1.0,
    # Midtrans waits about 15 s for a notification answer.
    "NOTIFY_TIMEOUT": 15.0,
    # How long shuffled notifications of one order are held before delivery.
    "SHUFFLE_HOLD_SECONDS": 0.5,
    "MERCHANT_ID": "G000000000",
}

_CASTS = {
    "RETRY_SCALE": float,
    "NOTIFY_TIMEOUT": float,
    "SHUFFLE_HOLD_SECONDS": float,
}


def load_config(overrides: dict | None = None) -> dict:
    """Defaults, then SIMULATOR_* environment variables, then explicit overrides."""
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        value = os.environ.get(f"SIMULATOR_{key}")
        if value not in (None, ""):
            config[key] = value
    config.update(overrides or {})
    for key, cast in _CASTS.items():
        config[key] = cast(config[key])
    config["PUBLIC_URL"] = config["PUBLIC_URL"].rstrip("/")
    return config
