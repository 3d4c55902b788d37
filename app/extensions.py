"""Extension objects, created unbound here and bound in `create_app`."""

import threading
import time
from collections import OrderedDict

import redis
from flask import current_app, request
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.openapi import URL_CONVERTERS, PosSpecPlugin, id_parameter_schema

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
    """The caller's address: the socket's peer, or behind TRUSTED_PROXY_COUNT proxies what they forwarded.

    Never read X-Forwarded-For here: `create_app` applies ProxyFix when the
    operator says proxies are trusted, and then `remote_addr` is already the client.
    """
    return request.remote_addr or "unknown"


class PosApi(Api):
    """flask-smorest's Api, with a message a person can act on in every error, and an exact document.

    Path ids use the `id` and `bigid` converters, and the document is
    completed by `app.openapi.PosSpecPlugin` (operationIds, examples).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for converter in URL_CONVERTERS.values():
            self.register_converter(converter, id_parameter_schema)

    def init_app(self, app, *, spec_kwargs=None):
        app.url_map.converters.update(URL_CONVERTERS)
        spec_kwargs = {"extra_plugins": [PosSpecPlugin()], **(spec_kwargs or {})}
        super().init_app(app, spec_kwargs=spec_kwargs)

    def _register_pagination_header(self):
        # The header carries a JSON object: declared as JSON content, not as a
        # `schema`, which would mean OpenAPI's comma-separated "simple" style.
        self.spec.components.header(
            "PAGINATION",
            {"description": "Pagination metadata, a JSON object.",
             "content": {"application/json": {"schema": PaginationMetadataSchema}}},
            lazy=True,
        )

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        if "message" not in payload:
            payload["message"] = (
                "Some fields are invalid; see errors." if code == 422 else (error.description or error.name)
            )
        if getattr(error, "valid_methods", None):
            headers = {**headers, "Allow": ", ".join(error.valid_methods)}
        return payload, code, headers


class PosLimiter(Limiter):
    """Flask-Limiter with limits declared on the views that need them, and only there.

    Besides the views' own checks (login, the public order and payment
    endpoints), Flask-Limiter checks every request in a before_request hook
    for default, application-wide and blueprint limits. This project has
    none, so that pass found nothing and cost every request, the till's
    checkout included, about a twentieth of its time: it is not registered.
    Configuring such limits is refused rather than silently ignored, by
    `refuse_limits_off_views`, which `create_app` calls once every blueprint
    is registered.
    """

    def init_app(self, app):
        super().init_app(app)
        app.before_request_funcs[None].remove(self._check_request_limit)

    def refuse_limits_off_views(self, app):
        """Refuse default, application-wide, meta and blueprint limits: nothing would check them."""
        manager = self.limit_manager
        with app.app_context():  # a limit may be a callable reading the config
            app_wide = [*manager.default_limits, *manager.application_limits, *self._meta_limits_configured()]
            on_blueprints = sorted(name for name in app.blueprints if manager.blueprint_limits(app, name))
        if app_wide:
            raise RuntimeError("App-wide rate limits are not checked in this project; declare limits on views.")
        if on_blueprints:
            raise RuntimeError(f"Rate limits on blueprints ({', '.join(on_blueprints)}) are not checked in this "
                               "project; declare limits on views.")

    def _meta_limits_configured(self):
        # Flask-Limiter 4.1 has no public accessor for meta limits (RATELIMIT_META); this private
        # attribute is read here only. tests/unit/test_config.py fails if it stops finding them.
        return list(self._meta_limits)


class VerifiedTokens:
    """Claims of access tokens this process has verified, until each token expires (bounded, LRU)."""

    def __init__(self, size):
        self.size = size
        self._claims = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token, leeway):
        with self._lock:
            claims = self._claims.get(token)
            if claims is None:
                return None
            if time.time() >= claims["exp"] + leeway:
                del self._claims[token]
                return None
            self._claims.move_to_end(token)
        return dict(claims)

    def put(self, token, claims):
        with self._lock:
            self._claims[token] = dict(claims)
            self._claims.move_to_end(token)
            while len(self._claims) > self.size:
                self._claims.popitem(last=False)


class PosJWTManager(JWTManager):
    """flask-jwt-extended's manager, verifying each token's signature once per process.

    A till sends the same access token with every request, and PyJWT parses
    it three times per request (claims, header, then verified), which cost
    more than the rest of authentication together. A token string whose
    signature and claims verified once verifies the same way until it
    expires, so its claims are kept per app and only the expiry is checked
    again. What can change during a token's life is still checked on every
    request, outside this cache: the Redis blocklist (logout) and the user's
    `is_active` and `token_version` (deactivation, password change).
    """

    CACHE_SIZE = 4096

    def init_app(self, app, add_context_processor=False):
        super().init_app(app, add_context_processor)
        app.extensions["jwt_verified_tokens"] = VerifiedTokens(self.CACHE_SIZE)

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        verified = current_app.extensions["jwt_verified_tokens"]
        claims = verified.get(encoded_token, current_app.config["JWT_DECODE_LEEWAY"])
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token)
            if "exp" in claims:
                verified.put(encoded_token, claims)
        return claims


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
jwt = PosJWTManager()
api = PosApi()
limiter = PosLimiter(key_func=client_address)
redis_client = RedisClient()
