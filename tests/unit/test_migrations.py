"""Migrations run forwards and backwards on PostgreSQL and on SQLite, and match the models."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from tests.conftest import ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent.parent


def flask_db(database_url, *args):
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": database_url,
           "SECRET_KEY": "migration-test-" + "s" * 32, "JWT_SECRET_KEY": "migration-test-" + "j" * 32}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture
def scratch_postgres():
    name = f"pos_migrations_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_sqlite(tmp_path):
    return f"sqlite:///{tmp_path / 'pos.sqlite3'}"


@pytest.mark.parametrize("database", ["scratch_postgres", "scratch_sqlite"])
def test_upgrade_downgrade_upgrade_and_models_match(request, database):
    url = request.getfixturevalue(database)
    for step in (("upgrade",), ("downgrade", "base"), ("upgrade",)):
        result = flask_db(url, *step)
        assert result.returncode == 0, result.stderr[-2000:]
    current = flask_db(url, "current")
    heads = flask_db(url, "heads")
    assert current.stdout.split()[0] == heads.stdout.split()[0]
    # `db check` fails when the models hold a change no migration makes.
    check = flask_db(url, "check")
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
