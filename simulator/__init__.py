"""Offline Midtrans simulator: Snap, the core status API and notifications.

`create_app()` builds an app (tests pass a config dict); `simulator:app` is
the app built from the environment, created on first access so that merely
importing the package (for `simulator.testing`, say) opens no database.
"""

import logging
import sys

from flask import Flask

from simulator.runtime import Simulator


def create_app(config: dict | None = None) -> Flask:
    simulator = Simulator.build(config)
    app = Flask(__name__, static_url_path="/_sim/static")
    app.extensions["simulator"] = simulator
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False

    from simulator import control, core, pages, snap

    app.register_blueprint(snap.bp)
    app.register_blueprint(core.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(control.bp)

    @app.before_request
    def start_dispatcher():
        # Started lazily so a forked gunicorn worker gets its own thread.
        simulator.notifier.ensure_started()

    _ensure_log_handler()
    return app


def _ensure_log_handler() -> None:
    # gunicorn and `python -m simulator` leave the root logger bare; give our
    # structured lines somewhere to go without overriding a host's setup.
    logger = logging.getLogger("simulator")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def __getattr__(name: str):
    if name == "app":
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
