"""Configuration from the environment: development needs none, production refuses to start without real secrets."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import DevelopmentConfig, ProductionConfig, config_for

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("SECRET_KEY", "JWT_SECRET_KEY", "MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY", "DATABASE_URL")
PROPER = {
    "SECRET_KEY": "Qm9yb2J1ZHVyLXBvcy1zZWNyZXQta2V5LXJlYWwtb25l",
    "JWT_SECRET_KEY": "Snd0LXNpZ25pbmcta2V5LWZvci1wcm9kdWN0aW9uLXVzZQ",
    "MIDTRANS_SERVER_KEY": "Mid-server-Xk2Vq9LmN4pR7sT1",
    "MIDTRANS_CLIENT_KEY": "Mid-client-Hj5Wd8Fb3Ns6Qy0Z",
    "DATABASE_URL": "postgresql+psycopg://pos@db.internal:5432/pos",
}


@pytest.fixture
def production_env(monkeypatch):
    """A production environment with every variable set properly; tests spoil one thing each."""
    for name, value in PROPER.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def refusal():
    with pytest.raises(RuntimeError) as refused:
        config_for("production")
    return str(refused.value)


# --- production -------------------------------------------------------------------


def test_production_with_proper_settings_is_accepted(production_env):
    assert ProductionConfig.problems() == []
    assert config_for("production") is ProductionConfig


def test_app_env_selects_production(production_env):
    production_env.setenv("APP_ENV", "production")
    assert config_for() is ProductionConfig
    production_env.delenv("SECRET_KEY")
    assert "SECRET_KEY is not set" in refusal()


def test_production_without_any_settings_names_every_missing_variable(production_env):
    for name in REQUIRED:
        production_env.delenv(name)

    message = refusal()

    assert message.startswith("Refusing to start in production")
    assert ProductionConfig.problems() == [f"{name} is not set" for name in REQUIRED]
    for name in REQUIRED:
        assert f"{name} is not set" in message


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("unset", ["deleted", "empty"])
def test_production_names_the_one_missing_variable(production_env, name, unset):
    if unset == "deleted":
        production_env.delenv(name)
    else:
        production_env.setenv(name, "")

    message = refusal()

    assert ProductionConfig.problems() == [f"{name} is not set"]
    assert f"{name} is not set" in message


def test_production_refuses_the_simulator_midtrans_keys_as_development_values(production_env):
    production_env.setenv("MIDTRANS_SERVER_KEY", config.SIMULATOR_SERVER_KEY)
    production_env.setenv("MIDTRANS_CLIENT_KEY", config.SIMULATOR_CLIENT_KEY)

    message = refusal()

    assert ProductionConfig.problems() == [
        "MIDTRANS_SERVER_KEY holds a development value",
        "MIDTRANS_CLIENT_KEY holds a development value",
    ]
    assert "MIDTRANS_SERVER_KEY holds a development value" in message
    assert "MIDTRANS_CLIENT_KEY holds a development value" in message


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("SECRET_KEY", "change-me-change-me-change-me-change-me", "SECRET_KEY holds a development value"),
        ("JWT_SECRET_KEY", "testing-jwt-secret-key-not-for-development-use", "JWT_SECRET_KEY holds a development value"),
        ("SECRET_KEY", "short-but-not-a-placeholder", "SECRET_KEY is shorter than 32 characters"),
        ("JWT_SECRET_KEY", "x" * 31, "JWT_SECRET_KEY is shorter than 32 characters"),
        ("DATABASE_URL", "sqlite:////srv/pos.sqlite3", "DATABASE_URL points at SQLite; production runs on PostgreSQL"),
    ],
)
def test_production_refuses_weak_or_placeholder_values(production_env, name, value, problem):
    production_env.setenv(name, value)
    assert ProductionConfig.problems() == [problem]
    assert problem in refusal()


def test_production_app_starts_with_proper_settings_and_uses_them(tmp_path):
    """`create_app()` in a fresh process, as gunicorn would start it."""
    script = (
        "import json; from app import create_app; app = create_app(); "
        "print(json.dumps({k: app.config[k] for k in "
        "('APP_ENV', 'SECRET_KEY', 'JWT_SECRET_KEY', 'MIDTRANS_SERVER_KEY', 'SQLALCHEMY_DATABASE_URI', 'DEBUG')}))"
    )
    env = {**os.environ, **PROPER, "APP_ENV": "production", "INSTANCE_DIR": str(tmp_path)}
    started = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert started.returncode == 0, started.stderr
    settings = json.loads(started.stdout.strip().splitlines()[-1])
    assert settings == {
        "APP_ENV": "production",
        "SECRET_KEY": PROPER["SECRET_KEY"],
        "JWT_SECRET_KEY": PROPER["JWT_SECRET_KEY"],
        "MIDTRANS_SERVER_KEY": PROPER["MIDTRANS_SERVER_KEY"],
        "SQLALCHEMY_DATABASE_URI": PROPER["DATABASE_URL"],
        "DEBUG": False,
    }
    assert not (tmp_path / "secrets.json").exists()


# --- development --------------------------------------------------------------------


def test_instance_secrets_are_generated_once_and_kept(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setattr(config, "INSTANCE_DIR", instance)

    first = config._instance_secrets()
    second = config._instance_secrets()

    assert first == second
    assert set(first) == {"SECRET_KEY", "JWT_SECRET_KEY"}
    assert first["SECRET_KEY"] != first["JWT_SECRET_KEY"]
    assert all(len(value) >= 32 for value in first.values())
    secrets_file = instance / "secrets.json"
    assert json.loads(secrets_file.read_text()) == first
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


def test_development_config_takes_missing_secrets_from_the_instance_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(DevelopmentConfig, "SECRET_KEY", None)
    monkeypatch.setattr(DevelopmentConfig, "JWT_SECRET_KEY", "set-in-the-environment-and-kept-as-is")

    chosen = config_for("development")

    assert chosen is DevelopmentConfig
    kept = json.loads((tmp_path / "secrets.json").read_text())
    assert chosen.SECRET_KEY == kept["SECRET_KEY"]
    assert chosen.JWT_SECRET_KEY == "set-in-the-environment-and-kept-as-is"


def _clean_env(**extra):
    """The environment of a newcomer's shell: none of the app's variables."""
    keep = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, **extra}


def test_processes_starting_together_share_one_set_of_secrets(tmp_path):
    script = "import config, json; c = config.config_for(); print(json.dumps([c.SECRET_KEY, c.JWT_SECRET_KEY]))"
    env = _clean_env(INSTANCE_DIR=str(tmp_path))
    processes = [
        subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert all(process.returncode == 0 for process in processes), [err for _, err in outputs]
    answers = {out.strip() for out, _ in outputs}
    assert len(answers) == 1
    assert json.loads(answers.pop()) == list(json.loads((tmp_path / "secrets.json").read_text()).values())


def test_development_works_with_no_environment_at_all(tmp_path):
    script = (
        "import config, json; c = config.config_for(); print(json.dumps({k: getattr(c, k) for k in ("
        "'APP_ENV', 'SQLALCHEMY_DATABASE_URI', 'REDIS_URL', 'CELERY_BROKER_URL', 'MIDTRANS_SERVER_KEY', "
        "'MIDTRANS_CLIENT_KEY', 'MIDTRANS_IS_PRODUCTION', 'MIDTRANS_SNAP_BASE_URL', 'LOGIN_RATE_LIMIT', "
        "'PUBLIC_RATE_LIMIT', 'ORDER_PAYMENT_TTL_MINUTES', 'ORDER_MAX_QTY', 'STORE_TIMEZONE', 'MAX_CONTENT_LENGTH')}))"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_clean_env(INSTANCE_DIR=str(tmp_path)),
        capture_output=True, text=True, timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == {
        "APP_ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pos.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "MIDTRANS_SERVER_KEY": config.SIMULATOR_SERVER_KEY,
        "MIDTRANS_CLIENT_KEY": config.SIMULATOR_CLIENT_KEY,
        "MIDTRANS_IS_PRODUCTION": False,
        "MIDTRANS_SNAP_BASE_URL": config.MIDTRANS_SANDBOX_SNAP_URL,
        "LOGIN_RATE_LIMIT": "10 per minute",
        "PUBLIC_RATE_LIMIT": "60 per minute",
        "ORDER_PAYMENT_TTL_MINUTES": 30,
        "ORDER_MAX_QTY": 50,
        "STORE_TIMEZONE": "Asia/Jakarta",
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }
    assert (tmp_path / "secrets.json").exists()


# --- choosing the config --------------------------------------------------------------


@pytest.mark.parametrize("name", ["staging", "prod", "Production", "test"])
def test_unknown_app_env_is_refused_by_name(monkeypatch, name):
    with pytest.raises(RuntimeError, match=repr(name)):
        config_for(name)
    monkeypatch.setenv("APP_ENV", name)
    with pytest.raises(RuntimeError, match="APP_ENV must be one of development, testing, production"):
        config_for()


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("Yes", True), (" on ", True),
                                             ("0", False), ("false", False), ("no", False), ("", False)])
def test_env_bool(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)
    assert config.env_bool("SOME_FLAG") is expected


def test_env_int_and_defaults(monkeypatch):
    monkeypatch.delenv("SOME_NUMBER", raising=False)
    assert config.env_int("SOME_NUMBER", 7) == 7
    monkeypatch.setenv("SOME_NUMBER", "")
    assert config.env_int("SOME_NUMBER", 7) == 7
    monkeypatch.setenv("SOME_NUMBER", "42")
    assert config.env_int("SOME_NUMBER", 7) == 42


@pytest.mark.parametrize("setting", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"])
def test_app_wide_rate_limits_are_refused_rather_than_ignored(setting):
    """Only limits declared on views are checked (PosLimiter skips Flask-Limiter's per-request pass)."""
    from flask import Flask

    from app.extensions import PosLimiter

    flask_app = Flask("limits")
    flask_app.config.update({setting: "100 per minute", "RATELIMIT_STORAGE_URI": "memory://"})
    with pytest.raises(RuntimeError, match="declare limits on views"):
        PosLimiter(key_func=lambda: "client").init_app(flask_app)

