"""Fixtures: a real PostgreSQL database and Redis for each run, a clean state for each test.

- One database per run (`pos_test_<random>`), migrated with Alembic to head,
  dropped at the end. Set TEST_DATABASE_ADMIN_URL to use another server.
- Every test that uses the app starts from empty tables (the default store
  stays) and an empty app Redis database. Tests commit for real, exactly as
  the API and the worker do, so a Celery worker sees what a test wrote.
- `celery_worker` starts a real worker process against the same database.
- tests/fixtures/ holds fixtures used in more than one directory (staff
  headers, the payments stack), registered below as plugins.
"""

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import delete, make_url, text

from config import TestingConfig

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_PASSWORD = "correct-horse-battery"

# Fixtures shared across directories. pytest reads `pytest_plugins` only in the
# top-level conftest; test modules import helpers, never fixtures.
pytest_plugins = ["tests.fixtures.staff", "tests.fixtures.payments"]


@pytest.fixture(scope="session")
def database_url():
    name = f"pos_test_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


# Redis database pairs (app state, broker) a test run may take. Each run holds one
# pair, so runs side by side on one machine neither wipe each other's keys nor
# consume each other's tasks. Development uses databases 0 and 11-13.
REDIS_DB_PAIRS = ((15, 14), (10, 9), (8, 7), (6, 5), (4, 3), (2, 1))
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")


@pytest.fixture(scope="session")
def redis_databases():
    """A free (app, broker) pair of Redis databases for this run, claimed in database 0."""
    registry = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    for app_db, broker_db in REDIS_DB_PAIRS:
        if registry.set(f"pos-test-run:{app_db}", token, nx=True, ex=4 * 3600):
            break
    else:
        raise RuntimeError("every Redis database pair is taken by other test runs")
    yield app_db, broker_db
    if registry.get(f"pos-test-run:{app_db}") == token.encode():
        registry.delete(f"pos-test-run:{app_db}")


@pytest.fixture(scope="session")
def test_config(database_url, redis_databases):
    app_db, broker_db = redis_databases

    class RunConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        REDIS_URL = f"{REDIS_SERVER}/{app_db}"
        CELERY_BROKER_URL = CELERY_RESULT_BACKEND = f"{REDIS_SERVER}/{broker_db}"
        RATELIMIT_STORAGE_URI = REDIS_URL

    return RunConfig


@pytest.fixture(scope="session")
def app(test_config):
    from flask_migrate import upgrade

    from app import create_app

    flask_app = create_app(test_config)
    with flask_app.app_context():
        upgrade()
    return flask_app


@pytest.fixture(scope="session")
def app_redis(app):
    return redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True)


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty tables and the app's Redis before each test that uses the app."""
    if "app" not in request.fixturenames:
        yield
        return
    flask_app = request.getfixturevalue("app")
    request.getfixturevalue("app_redis").flushdb()
    from app.extensions import db
    from app.stores.models import DEFAULT_STORE_CODE, Store

    with flask_app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            if table.name == "stores":
                db.session.execute(delete(Store).where(Store.code != DEFAULT_STORE_CODE))
            else:
                db.session.execute(table.delete())
        _reset_default_store(db)
        for sequence in db.session.scalars(text("SELECT sequencename FROM pg_sequences WHERE sequencename LIKE 'sale_no_%'")):
            db.session.execute(text(f"ALTER SEQUENCE {sequence} RESTART WITH 1"))
        db.session.commit()
    yield


def _reset_default_store(db):
    """The default store back to a fresh store's settings (tests change tax, service charge, texts)."""
    from app.stores.models import Store

    defaults = {
        column.key: column.default.arg
        for column in Store.__table__.columns
        if column.default is not None and not callable(column.default.arg) and column.key not in ("id", "code")
    }
    nullable = {column.key: None for column in Store.__table__.columns
                if column.nullable and column.default is None and column.key not in ("id",)}
    db.session.execute(Store.__table__.update().where(Store.code == "main").values(name="Toko Utama", **nullable, **defaults))


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def known_password_hash():
    from app.auth.passwords import hash_password

    return hash_password(TEST_PASSWORD)


@pytest.fixture
def make_user(app, known_password_hash):
    """Create a staff user directly (hashing once per run keeps tests quick)."""
    from app.extensions import db
    from app.stores.models import default_store
    from app.users.models import User

    def make(role="cashier", username=None, full_name=None, is_active=True):
        with app.app_context():
            user = User(
                username=username or f"{role}-{secrets.token_hex(3)}",
                full_name=full_name or f"Test {role.title()}",
                role=role,
                password_hash=known_password_hash,
                store_id=default_store().id,
                is_active=is_active,
            )
            db.session.add(user)
            db.session.commit()
            return {"id": user.id, "username": user.username, "role": user.role, "password": TEST_PASSWORD}

    return make


@pytest.fixture
def login(client):
    """Sign in through the API; returns the response body."""

    def sign_in(user):
        response = client.post("/api/auth/login", json={"username": user["username"], "password": user["password"]})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return sign_in


@pytest.fixture
def auth_headers(app, make_user):
    """`auth_headers("admin")` -> headers of a freshly created user of that role.

    The tokens are issued directly (what a sign-in issues); signing in itself
    is tested in tests/api/test_auth.py and costs an argon2 hash each time.
    """
    from app.auth.tokens import issue_tokens
    from app.extensions import db
    from app.users.models import User

    def headers_for(role="cashier", user=None):
        user = user or make_user(role)
        with app.app_context():
            tokens = issue_tokens(db.session.get(User, user["id"]))
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    return headers_for


def _worker_env(app):
    env = dict(os.environ)
    env.update(
        APP_ENV="testing",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        CELERY_BROKER_URL=app.config["CELERY_BROKER_URL"],
        CELERY_RESULT_BACKEND=app.config["CELERY_RESULT_BACKEND"],
        SECRET_KEY=app.config["SECRET_KEY"],
        JWT_SECRET_KEY=app.config["JWT_SECRET_KEY"],
    )
    return env


@pytest.fixture(scope="session")
def celery_worker(app):
    """A real Celery worker process on the test database and broker.

    The broker is purged first so tasks left by earlier tests (sent while no
    worker ran) do not run against this test's data.
    """
    celery = app.extensions["celery"]
    celery.control.purge()
    ARTIFACTS.mkdir(exist_ok=True)
    log_file = open(ARTIFACTS / "celery-worker.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "-n", f"test-{secrets.token_hex(3)}@%h"],
        cwd=ROOT,
        env=_worker_env(app),
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    from tasks.system import ping

    while True:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}; see artifacts/celery-worker.log")
        try:
            if ping.apply_async(expires=5).get(timeout=2) == "pong":
                break
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log_file.close()
