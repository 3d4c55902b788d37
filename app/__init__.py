"""The application factory."""

import logging
from datetime import timedelta
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.jsonbody import BoundedJSONProvider, PosRequest
from config import config_for


def create_app(config=None):
    """Build the API. `config` is an APP_ENV name or a config class; default from the environment."""
    config_class = config_for(config) if config is None or isinstance(config, str) else config.init()
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = PosRequest
    app.json = BoundedJSONProvider(app)
    app.config.from_object(config_class)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = _minutes(app.config["JWT_ACCESS_TOKEN_EXPIRES_MINUTES"])
    app.config["JWT_REFRESH_TOKEN_EXPIRES"] = _minutes(app.config["JWT_REFRESH_TOKEN_EXPIRES_DAYS"] * 24 * 60)
    _configure_logging(app)
    _trust_proxies(app, app.config["TRUSTED_PROXY_COUNT"])

    from app.errors import register_error_handlers, register_jwt_handlers
    from app.extensions import api, db, jwt, limiter, migrate, redis_client
    from app.tasking import celery_init_app

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    jwt.init_app(app)
    redis_client.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    celery_init_app(app)
    register_error_handlers(app)
    register_jwt_handlers(jwt)

    _register_blueprints(app, api)
    limiter.refuse_limits_off_views(app)
    from app.cli import register_cli

    register_cli(app)

    from app.auth.policy import check_access_policies

    check_access_policies(app)
    return app


def _register_blueprints(app, api):
    """Every blueprint, in one place."""
    from app.auth import tokens  # noqa: F401  (registers the JWT loaders)
    from app.auth.routes import blp as auth
    from app.catalog.routes import categories, products
    from app.customers.routes import blp as customers
    from app.docs import blp as docs
    from app.health.routes import blp as health
    from app.inventory.routes import stock, takes
    from app.orders.routes import menu, orders
    from app.payments.routes import payments, webhooks
    from app.reports.routes import dashboard, reports
    from app.sales.cart_routes import blp as carts
    from app.sales.receipt_routes import blp as receipts
    from app.sales.routes import blp as sales
    from app.stores.routes import blp as store
    from app.users.routes import blp as users

    for blueprint in (
        auth, users, store, categories, products, stock, takes, sales, receipts, carts, customers,
        menu, orders, payments, webhooks, reports, dashboard, health,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs)


def _trust_proxies(app, count):
    """Take the client's address, scheme and host from the last `count` proxies' X-Forwarded-* headers.

    With 0 those headers are ignored: anyone can send them, so only the
    operator, who knows how many proxies stand in front, may make them count.
    """
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def _minutes(count):
    return timedelta(minutes=count)


def _migrations_dir():
    return Path(__file__).resolve().parent.parent / "migrations"


def _configure_logging(app):
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
