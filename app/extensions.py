"""Extension objects, created unbound here and bound in `create_app`."""

import redis
from flask import current_app, request
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations reviewable and let SQLite's batch
# mode recreate tables without losing them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def client_address():
    """The caller's address; behind a proxy, configure ProxyFix rather than trusting headers here."""
    return request.remote_addr or "unknown"


class PosApi(Api):
    """flask-smorest's Api, with a message a person can act on in every error."""

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload:
            payload["message"] = (
                "Some fields are invalid; see errors." if code == 422 else (error.description or error.name)
            )
        if getattr(error, "valid_methods", None):
            headers = {**headers, "Allow": ", ".join(error.valid_methods)}
        return payload, code, headers


class RedisClient:
    """One Redis connection pool per app, reached as `redis_client.<command>`."""

    def init_app(self, app):
        app.extensions["redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"],
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=2,
            health_check_interval=30,
        )

    @property
    def connection(self):
        return current_app.extensions["redis"]

    def __getattr__(self, name):
        return getattr(self.connection, name)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
api = PosApi()
limiter = Limiter(key_func=client_address)
redis_client = RedisClient()
