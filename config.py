"""Configuration, read from the environment in this one place.

`config_for(name)` picks the class for `APP_ENV`. Development works with no
environment at all: SQLite under `instance/`, secrets generated once and kept
in `instance/secrets.json` so the API, the worker and beat share them, and
the Midtrans keys of the in-repo simulator. Testing generates fresh secrets
in each process unless the environment gives them. Production refuses to
start without real secrets (`ProductionConfig.problems`).
"""

import json
import math
import os
import secrets
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))

SIMULATOR_SERVER_KEY = "SB-Mid-server-simulator-dev-key"
SIMULATOR_CLIENT_KEY = "SB-Mid-client-simulator-dev-key"
MIDTRANS_SANDBOX_SNAP_URL = "https://app.sandbox.midtrans.com/snap/v1"
MIDTRANS_SANDBOX_API_URL = "https://api.sandbox.midtrans.com"
MIDTRANS_PRODUCTION_SNAP_URL = "https://app.midtrans.com/snap/v1"
MIDTRANS_PRODUCTION_API_URL = "https://api.midtrans.com"

# Values that must never reach production: the simulator keys, and anything
# that reads like a placeholder or a value written in this repository's
# tests, benchmarks and history (the old testing keys said "not-for-production").
_PUBLISHED_SECRETS = (SIMULATOR_SERVER_KEY, SIMULATOR_CLIENT_KEY)
_DEVELOPMENT_SECRET_MARKERS = (
    "simulator", "change-me", "changeme", "dev-", "development", "not-for-production", "testing-", "bench-",
    "migration-test-",
)
# A secret must take an attacker at least 2**128 guesses (see `secret_strength_bits`).
SECRET_MIN_LENGTH = 32
SECRET_MIN_BITS = 128
_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off"}


def env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = env(name)
    return default if value is None else int(value)


def whole_number(name, value):
    """`value` (a setting, as text or int) as an int of 0 or more; a bad value stops the start naming `name`."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number < 0:
        raise RuntimeError(f"{name} must be a whole number, 0 or more, not {str(value)!r}")
    return number


def secret_strength_bits(value):
    """About how many bits of guessing `value` takes: log2 of zxcvbn's guess estimate.

    zxcvbn (Dropbox's estimator, also used for passwords) counts the guesses
    an attacker who knows the usual patterns needs: repeats (`'a' * 32`,
    `passwordpassword...`), sequences (`0123456789abcdef...`), keyboard walks,
    dictionary words and dates cost few; only random characters cost their
    full price. 64 random hex digits (`openssl rand -hex 32`) or
    `secrets.token_urlsafe(48)` estimate above 190 bits; the estimator is only
    shown the first 100 characters, which is plenty for a strong secret and
    keeps it fast.
    """
    from zxcvbn import zxcvbn

    return zxcvbn(value[:100])["guesses_log10"] * math.log2(10)


def midtrans_base_urls(is_production):
    """(Snap, core API) base URLs: from the environment, else Midtrans's own for the mode."""
    return (
        env("MIDTRANS_SNAP_BASE_URL", MIDTRANS_PRODUCTION_SNAP_URL if is_production else MIDTRANS_SANDBOX_SNAP_URL),
        env("MIDTRANS_API_BASE_URL", MIDTRANS_PRODUCTION_API_URL if is_production else MIDTRANS_SANDBOX_API_URL),
    )


def _instance_secrets():
    """Secrets generated on first use and shared by every local process.

    Written to a private temporary file and hard-linked into place, so the
    file appears whole or not at all: two processes starting together agree
    on one, and neither reads it half-written.
    """
    path = INSTANCE_DIR / "secrets.json"
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        generated = {"SECRET_KEY": secrets.token_urlsafe(48), "JWT_SECRET_KEY": secrets.token_urlsafe(48)}
        fd, temporary = tempfile.mkstemp(dir=INSTANCE_DIR, prefix=".secrets-", suffix=".json")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(generated, handle)
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won; use its secrets
        finally:
            os.unlink(temporary)
    return json.loads(path.read_text())


class Config:
    APP_ENV = "development"
    DEBUG = False
    TESTING = False

    SQLALCHEMY_DATABASE_URI = env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'pos.sqlite3'}")
    # No ping before each checkout of a pooled connection: it costs a round trip on every
    # request. After a database restart the first request on a dead connection gets a 503
    # (no side effects; clients retry) and SQLAlchemy replaces the whole pool.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False, "pool_recycle": 3600}
    REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)

    SECRET_KEY = env("SECRET_KEY")
    JWT_SECRET_KEY = env("JWT_SECRET_KEY")
    JWT_ACCESS_TOKEN_EXPIRES_MINUTES = env_int("JWT_ACCESS_TOKEN_EXPIRES_MINUTES", 30)
    JWT_REFRESH_TOKEN_EXPIRES_DAYS = env_int("JWT_REFRESH_TOKEN_EXPIRES_DAYS", 7)
    # Bearer tokens in the Authorization header only: no cookies, so no CSRF claim to carry.
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_COOKIE_CSRF_PROTECT = False

    MIDTRANS_SERVER_KEY = env("MIDTRANS_SERVER_KEY", SIMULATOR_SERVER_KEY)
    MIDTRANS_CLIENT_KEY = env("MIDTRANS_CLIENT_KEY", SIMULATOR_CLIENT_KEY)
    MIDTRANS_IS_PRODUCTION = env_bool("MIDTRANS_IS_PRODUCTION", False)
    MIDTRANS_SNAP_BASE_URL, MIDTRANS_API_BASE_URL = midtrans_base_urls(MIDTRANS_IS_PRODUCTION)
    MIDTRANS_NOTIFICATION_URL = env("MIDTRANS_NOTIFICATION_URL")

    # An order holds its stock this long after placing; starting a payment extends it to
    # ORDER_PAYMENT_TTL_MINUTES after placing (never shortens it).
    ORDER_HOLD_MINUTES = env_int("ORDER_HOLD_MINUTES", 10)
    ORDER_PAYMENT_TTL_MINUTES = env_int("ORDER_PAYMENT_TTL_MINUTES", 30)
    # Unpaid online orders together hold at most this percent of a product's stock at a store
    # (rounded down); the rest is always the till's.
    ONLINE_HOLD_MAX_PERCENT = env_int("ONLINE_HOLD_MAX_PERCENT", 50)
    # One client address's unpaid orders hold at most this percent of a product's stock (rounded up).
    ONLINE_HOLD_MAX_PERCENT_PER_CLIENT = env_int("ONLINE_HOLD_MAX_PERCENT_PER_CLIENT", 25)
    # Unpaid orders open at once per client address and per phone number; one more is 429.
    ORDER_MAX_PENDING_PER_ADDRESS = env_int("ORDER_MAX_PENDING_PER_ADDRESS", 3)
    ORDER_MAX_PENDING_PER_PHONE = env_int("ORDER_MAX_PENDING_PER_PHONE", 2)
    RECONCILE_INTERVAL_SECONDS = env_int("RECONCILE_INTERVAL_SECONDS", 120)
    # Payments still open this long after their last news are asked about at Midtrans.
    PAYMENT_RECONCILE_GRACE_SECONDS = env_int("PAYMENT_RECONCILE_GRACE_SECONDS", 60)
    # How long `POST /api/payments/{order_id}/create` waits for the Snap token before answering 202.
    PAYMENT_TOKEN_WAIT_SECONDS = float(env("PAYMENT_TOKEN_WAIT_SECONDS", "3"))
    # Where Snap sends the customer back after paying (optional).
    ORDER_FINISH_URL = env("ORDER_FINISH_URL")
    LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", "10 per minute")
    # Failed sign-ins for one username from any address, and from one address for any username:
    # slow spraying down while a stranger can lock a real user out for one short window only.
    LOGIN_USERNAME_RATE_LIMIT = env("LOGIN_USERNAME_RATE_LIMIT", "20 per 10 minutes")
    LOGIN_ADDRESS_RATE_LIMIT = env("LOGIN_ADDRESS_RATE_LIMIT", "15 per 10 minutes")
    # Wrong current passwords per user (changing the password, setting the approval PIN).
    PASSWORD_CHANGE_RATE_LIMIT = env("PASSWORD_CHANGE_RATE_LIMIT", "5 per 15 minutes")
    PUBLIC_RATE_LIMIT = env("PUBLIC_RATE_LIMIT", "60 per minute")
    ORDER_MAX_QTY = env_int("ORDER_MAX_QTY", 50)
    # Proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
    # (werkzeug's ProxyFix); 0 ignores those headers. Checked in `init`.
    TRUSTED_PROXY_COUNT = env("TRUSTED_PROXY_COUNT", "0")
    EXPORT_DIR = env("EXPORT_DIR", str(INSTANCE_DIR / "exports"))
    # Export files are deleted this long after they were made.
    EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 48)
    STORE_TIMEZONE = env("STORE_TIMEZONE", "Asia/Jakarta")
    # Idempotency-Key records are kept at least this long.
    IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)

    # Refused notifications (malformed or wrongly signed) are kept for audit only in bounded
    # form: an excerpt of the body, at most so many rows a minute, for so many days.
    WEBHOOK_UNVERIFIED_BODY_CHARS = env_int("WEBHOOK_UNVERIFIED_BODY_CHARS", 1024)
    WEBHOOK_UNVERIFIED_PER_MINUTE = env_int("WEBHOOK_UNVERIFIED_PER_MINUTE", 60)
    WEBHOOK_UNVERIFIED_PER_ADDRESS_PER_MINUTE = env_int("WEBHOOK_UNVERIFIED_PER_ADDRESS_PER_MINUTE", 10)
    WEBHOOK_UNVERIFIED_RETENTION_DAYS = env_int("WEBHOOK_UNVERIFIED_RETENTION_DAYS", 7)

    # Seconds the health check waits for a worker to answer its ping task.
    HEALTH_WORKER_TIMEOUT_SECONDS = float(env("HEALTH_WORKER_TIMEOUT_SECONDS", "2"))
    # The worker's state is re-checked at most this often (the endpoint is public).
    HEALTH_WORKER_CACHE_SECONDS = float(env("HEALTH_WORKER_CACHE_SECONDS", "5"))
    # Request bodies above this are refused with 413 before any parsing.
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 1024 * 1024)

    # flask-smorest / OpenAPI
    API_TITLE = "Web POS API"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # Served from the swagger-ui-bundle package so the docs work offline.
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
        "info": {
            "description": "Point of sale, inventory and online ordering with Midtrans payments. "
            "Money is integer rupiah in fields ending `_idr`. Each operation states which roles may call it."
        },
    }

    # Flask-Limiter: counters live in Redis so every API process shares them.
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = "pos-limits"
    # With Redis down, count in process memory rather than refuse every request.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    @classmethod
    def init(cls):
        """Fill what depends on the environment at start-up rather than at import."""
        cls.TRUSTED_PROXY_COUNT = whole_number("TRUSTED_PROXY_COUNT", cls.TRUSTED_PROXY_COUNT)
        if not cls.SECRET_KEY or not cls.JWT_SECRET_KEY:
            generated = _instance_secrets()
            cls.SECRET_KEY = cls.SECRET_KEY or generated["SECRET_KEY"]
            cls.JWT_SECRET_KEY = cls.JWT_SECRET_KEY or generated["JWT_SECRET_KEY"]
        return cls


class DevelopmentConfig(Config):
    APP_ENV = "development"
    DEBUG = env_bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = env("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pos_test")
    # Tests wipe the app's Redis database between tests; the broker lives in
    # another one so a running worker's queues survive the wipe.
    REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/15")
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/14")
    HEALTH_WORKER_CACHE_SECONDS = 0.0  # tests start and stop workers and must see it at once

    @classmethod
    def init(cls):
        """Secrets from the environment, else fresh random ones for this process.

        Never a constant: a key written in the repository would let anyone
        sign tokens for a testing server. Processes that must share the
        keys (a test's Celery worker) get them through the environment.
        """
        cls.TRUSTED_PROXY_COUNT = whole_number("TRUSTED_PROXY_COUNT", cls.TRUSTED_PROXY_COUNT)
        cls.SECRET_KEY = cls.SECRET_KEY or secrets.token_urlsafe(48)
        cls.JWT_SECRET_KEY = cls.JWT_SECRET_KEY or secrets.token_urlsafe(48)
        return cls


class ProductionConfig(Config):
    APP_ENV = "production"
    # Production talks to Midtrans production unless told otherwise (a staging
    # server on sandbox keys sets MIDTRANS_IS_PRODUCTION=false).
    MIDTRANS_IS_PRODUCTION = env_bool("MIDTRANS_IS_PRODUCTION", True)
    MIDTRANS_SNAP_BASE_URL, MIDTRANS_API_BASE_URL = midtrans_base_urls(MIDTRANS_IS_PRODUCTION)

    @classmethod
    def problems(cls):
        """What stops production from starting, one readable line each; never a secret's value."""
        found = []
        for name in ("SECRET_KEY", "JWT_SECRET_KEY", "MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY", "DATABASE_URL"):
            value = env(name)
            if value is None:
                found.append(f"{name} is not set")
            elif name == "DATABASE_URL":
                if value.startswith("sqlite"):
                    found.append("DATABASE_URL points at SQLite; production runs on PostgreSQL")
            elif value in _PUBLISHED_SECRETS or any(marker in value.lower() for marker in _DEVELOPMENT_SECRET_MARKERS):
                found.append(f"{name} holds a development value")
            elif name.startswith("MIDTRANS_"):
                found.extend(_midtrans_key_problems(name, value))
            elif len(value) < SECRET_MIN_LENGTH:
                found.append(f"{name} is shorter than {SECRET_MIN_LENGTH} characters")
            elif (bits := secret_strength_bits(value)) < SECRET_MIN_BITS:
                found.append(
                    f"{name} is too easy to guess (about {bits:.0f} bits, needs {SECRET_MIN_BITS}); "
                    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
        if env("SECRET_KEY") is not None and env("SECRET_KEY") == env("JWT_SECRET_KEY"):
            found.append("SECRET_KEY and JWT_SECRET_KEY are the same; give each its own value")
        if env_bool("FLASK_DEBUG"):
            found.append("FLASK_DEBUG is on; production never runs the debugger")
        if _midtrans_mode() is None:
            found.append("MIDTRANS_IS_PRODUCTION must be true or false")
        try:
            whole_number("TRUSTED_PROXY_COUNT", env("TRUSTED_PROXY_COUNT", "0"))
        except RuntimeError as problem:
            found.append(str(problem))
        return found

    @classmethod
    def init(cls):
        found = cls.problems()
        if found:
            raise RuntimeError("Refusing to start in production: " + "; ".join(found))
        cls.TRUSTED_PROXY_COUNT = whole_number("TRUSTED_PROXY_COUNT", cls.TRUSTED_PROXY_COUNT)
        return cls


def _midtrans_mode():
    """MIDTRANS_IS_PRODUCTION for production: True when unset, None when it is not a yes or a no."""
    value = env("MIDTRANS_IS_PRODUCTION")
    if value is None:
        return True
    word = value.strip().lower()
    return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None


def _midtrans_key_problems(name, value):
    """Midtrans keys say where they belong: `SB-Mid-...` for the sandbox, `Mid-...` for production."""
    mode = _midtrans_mode()
    if value.startswith("SB-") and mode is True:
        if env("MIDTRANS_IS_PRODUCTION") is None:
            return [f"{name} is a sandbox key (SB-); use the production key, "
                    "or set MIDTRANS_IS_PRODUCTION=false to run a staging server on the sandbox"]
        return [f"{name} is a sandbox key (SB-) but MIDTRANS_IS_PRODUCTION is true"]
    if value.startswith("Mid-") and mode is False:
        return [f"{name} is a production key (Mid-) but MIDTRANS_IS_PRODUCTION is false"]
    return []


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def config_for(name=None):
    name = name or env("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name].init()
