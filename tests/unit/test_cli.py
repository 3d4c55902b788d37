"""Operator commands: `flask users create-admin` and `flask demo seed`."""

import pytest
from sqlalchemy import func, select

from app.auth.passwords import verify_password
from app.extensions import db
from app.users.models import User


@pytest.fixture
def runner(app, monkeypatch):
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    return app.test_cli_runner()


def users(app):
    with app.app_context():
        return {
            user.username: {"role": user.role, "is_active": user.is_active, "password_hash": user.password_hash}
            for user in db.session.scalars(select(User))
        }


def create_admin(runner, *args, **kwargs):
    return runner.invoke(args=["users", "create-admin", *args], **kwargs)


def test_create_admin_reads_the_password_from_stdin(app, runner, client):
    result = create_admin(runner, "--username", "Owner", "--password-stdin", input="a-strong-password\n")

    assert result.exit_code == 0, result.output
    assert "Created admin owner" in result.output
    assert "a-strong-password" not in result.output
    row = users(app)["owner"]
    assert row["role"] == "admin"
    assert row["is_active"] is True
    assert row["password_hash"].startswith("$argon2id$")
    assert verify_password(row["password_hash"], "a-strong-password")

    login = client.post("/api/auth/login", json={"username": "owner", "password": "a-strong-password"})
    assert login.status_code == 200
    assert login.get_json()["user"]["role"] == "admin"


def test_create_admin_reads_the_password_from_admin_password(app, runner):
    result = create_admin(runner, "--username", "owner", "--full-name", "Ibu Pemilik",
                          env={"ADMIN_PASSWORD": "from-the-environment"})

    assert result.exit_code == 0, result.output
    row = users(app)["owner"]
    assert row["role"] == "admin"
    assert verify_password(row["password_hash"], "from-the-environment")
    with app.app_context():
        assert db.session.scalars(select(User.full_name).where(User.username == "owner")).one() == "Ibu Pemilik"


def test_create_admin_has_no_password_flag(app, runner):
    result = create_admin(runner, "--username", "owner", "--password", "on-the-command-line")

    assert result.exit_code == 2
    assert users(app) == {}


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (["--username", "owner"], {}),
        (["--username", "owner", "--password-stdin"], {"input": "\n"}),
        (["--username", "owner", "--password-stdin"], {"input": ""}),
        (["--username", "owner"], {"env": {"ADMIN_PASSWORD": ""}}),
    ],
    ids=["no password at all", "empty line on stdin", "nothing on stdin", "empty ADMIN_PASSWORD"],
)
def test_create_admin_without_a_password_is_a_usage_error(app, runner, args, kwargs):
    result = create_admin(runner, *args, **kwargs)

    assert result.exit_code == 2, result.output
    assert "password" in result.output.lower()
    assert users(app) == {}


@pytest.mark.parametrize("password", ["short", "p" * 129])
def test_create_admin_with_a_bad_password_length_is_a_usage_error(app, runner, password):
    result = create_admin(runner, "--username", "owner", "--password-stdin", input=password + "\n")

    assert result.exit_code == 2, result.output
    assert "Password" in result.output
    assert users(app) == {}


@pytest.mark.parametrize("password", ["12345678", "password", "Passw0rd", "owner12345"])
def test_create_admin_with_a_guessable_password_is_a_usage_error_saying_why(app, runner, password):
    result = create_admin(runner, "--username", "owner", "--password-stdin", input=password + "\n")

    assert result.exit_code == 2, result.output
    assert "Password:" in result.output
    assert "common" in result.output or "guess" in result.output or "name" in result.output
    assert users(app) == {}


@pytest.mark.parametrize("username", ["a", "has space", "-dash", "kasir@toko"])
def test_create_admin_with_a_bad_username_is_a_usage_error(app, runner, username):
    result = create_admin(runner, "--username", username, "--password-stdin", input="a-strong-password\n")

    assert result.exit_code == 2, result.output
    assert "Username" in result.output
    assert users(app) == {}


def test_create_admin_with_a_taken_username_fails_and_changes_nothing(app, runner, make_user):
    make_user("cashier", username="owner")
    before = users(app)

    result = create_admin(runner, "--username", "OWNER", "--password-stdin", input="a-strong-password\n")

    assert result.exit_code == 1, result.output
    assert "taken" in result.output
    assert users(app) == before


def row_counts(app):
    """Rows in every table: what a second seed must not change."""
    with app.app_context():
        return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}


def test_demo_seed_is_idempotent(app, runner, client):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    seeded = users(app)
    assert sorted((name, row["role"]) for name, row in seeded.items()) == [
        ("admin", "admin"), ("cashier", "cashier"), ("supervisor", "supervisor")
    ]
    counts = row_counts(app)

    second = runner.invoke(args=["demo", "seed"])

    assert second.exit_code == 0, second.output
    assert users(app) == seeded
    assert row_counts(app) == counts
    # The demo logins the start-up script prints do work.
    assert client.post("/api/auth/login", json={"username": "cashier", "password": "kasir12345"}).status_code == 200


def test_demo_seed_keeps_an_existing_user_as_it_is(app, runner, make_user):
    make_user("supervisor", username="admin")
    before = users(app)["admin"]

    result = runner.invoke(args=["demo", "seed"])

    assert result.exit_code == 0, result.output
    assert users(app)["admin"] == before
    assert len(users(app)) == 3


def test_demo_seed_refuses_production(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")

    result = runner.invoke(args=["demo", "seed"])

    assert result.exit_code == 1
    assert "production" in result.output
    assert users(app) == {}
