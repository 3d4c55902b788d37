"""Configuration from the environment: development needs none, production refuses to start without real secrets."""

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import DevelopmentConfig, ProductionConfig, config_for

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("SECRET_KEY", "JWT_SECRET_KEY", "MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY", "DATABASE_URL")
# Made for this run: a value written here would be a published secret.
PROPER = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "JWT_SECRET_KEY": secrets.token_hex(32),  # what `openssl rand -hex 32` prints
    "MIDTRANS_SERVER_KEY": "Mid-server-" + secrets.token_urlsafe(18),
    "MIDTRANS_CLIENT_KEY": "Mid-client-" + secrets.token_urlsafe(18),
    "DATABASE_URL": "postgresql+psycopg://pos@db.internal:5432/pos",
}
# Settings that change what production accepts; a test sets the ones it needs.
OPTIONAL = ("MIDTRANS_IS_PRODUCTION", "FLASK_DEBUG", "TRUSTED_PROXY_COUNT")
PUBLISHED_TESTING_KEYS = ("testing-secret-key-not-for-production", "testing-jwt-secret-key-not-for-production-use")


@pytest.fixture
def production_env(monkeypatch):
    """A production environment with every variable set properly; tests spoil one thing each."""
    for name, value in PROPER.items():
        monkeypatch.setenv(name, value)
    for name in OPTIONAL:
        monkeypatch.delenv(name, raising=False)
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


PRODUCTION_SETTINGS_SCRIPT = (
    "import json; from app import create_app; app = create_app(); "
    "print(json.dumps({k: app.config[k] for k in "
    "('APP_ENV', 'SECRET_KEY', 'JWT_SECRET_KEY', 'MIDTRANS_SERVER_KEY', 'SQLALCHEMY_DATABASE_URI', 'DEBUG', "
    "'MIDTRANS_IS_PRODUCTION', 'MIDTRANS_API_BASE_URL', 'TRUSTED_PROXY_COUNT')}))"
)


def start_production(tmp_path, **settings):
    """`create_app()` in a fresh process, as gunicorn would start it; returns the finished process."""
    env = {name: value for name, value in os.environ.items() if name not in OPTIONAL}
    env.update(PROPER, APP_ENV="production", INSTANCE_DIR=str(tmp_path), **settings)
    return subprocess.run([sys.executable, "-c", PRODUCTION_SETTINGS_SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_production_app_starts_with_proper_settings_and_uses_them(tmp_path):
    started = start_production(tmp_path)

    assert started.returncode == 0, started.stderr
    settings = json.loads(started.stdout.strip().splitlines()[-1])
    assert settings == {
        "APP_ENV": "production",
        "SECRET_KEY": PROPER["SECRET_KEY"],
        "JWT_SECRET_KEY": PROPER["JWT_SECRET_KEY"],
        "MIDTRANS_SERVER_KEY": PROPER["MIDTRANS_SERVER_KEY"],
        "SQLALCHEMY_DATABASE_URI": PROPER["DATABASE_URL"],
        "DEBUG": False,
        # Production keys talk to Midtrans production without being told twice.
        "MIDTRANS_IS_PRODUCTION": True,
        "MIDTRANS_API_BASE_URL": config.MIDTRANS_PRODUCTION_API_URL,
        "TRUSTED_PROXY_COUNT": 0,
    }
    assert not (tmp_path / "secrets.json").exists()


def test_a_staging_server_runs_on_sandbox_keys_when_it_says_so(tmp_path):
    started = start_production(
        tmp_path, MIDTRANS_IS_PRODUCTION="false", TRUSTED_PROXY_COUNT="1",
        MIDTRANS_SERVER_KEY="SB-Mid-server-" + secrets.token_urlsafe(18),
        MIDTRANS_CLIENT_KEY="SB-Mid-client-" + secrets.token_urlsafe(18),
    )

    assert started.returncode == 0, started.stderr
    settings = json.loads(started.stdout.strip().splitlines()[-1])
    assert settings["MIDTRANS_IS_PRODUCTION"] is False
    assert settings["MIDTRANS_API_BASE_URL"] == config.MIDTRANS_SANDBOX_API_URL
    assert settings["TRUSTED_PROXY_COUNT"] == 1


def test_production_refuses_to_start_and_never_prints_the_secret(tmp_path):
    weak = "passwordpassword" * 3
    started = start_production(tmp_path, JWT_SECRET_KEY=weak)

    assert started.returncode != 0
    assert "JWT_SECRET_KEY is too easy to guess" in started.stderr
    assert weak not in started.stderr and weak[:16] not in started.stderr


@pytest.mark.parametrize(
    "name, value",
    [
        ("SECRET_KEY", "a" * 32),
        ("JWT_SECRET_KEY", "a" * 64),
        ("SECRET_KEY", "passwordpassword" * 2),
        ("JWT_SECRET_KEY", "passwordpassword" * 4),
        ("SECRET_KEY", "0123456789abcdef" * 2),
        ("JWT_SECRET_KEY", "0123456789abcdef" * 4),
        ("SECRET_KEY", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        ("JWT_SECRET_KEY", "qwertyuiopasdfghjklzxcvbnm1234567890"),
        ("SECRET_KEY", "correcthorsebatterystaplecorrecthorse"),
    ],
    ids=["a*32", "a*64", "password*2", "password*4", "hex run*2", "hex run*4", "alphabet", "keyboard", "words"],
)
def test_production_refuses_secrets_that_are_easy_to_guess(production_env, name, value):
    production_env.setenv(name, value)

    [problem] = ProductionConfig.problems()

    assert problem.startswith(f"{name} is too easy to guess")
    assert "secrets.token_urlsafe(48)" in problem
    assert value not in refusal()


@pytest.mark.parametrize("make", [lambda: secrets.token_urlsafe(48), lambda: secrets.token_urlsafe(32),
                                  lambda: secrets.token_hex(32)], ids=["token_urlsafe(48)", "token_urlsafe(32)", "hex 32"])
def test_production_accepts_generated_secrets(production_env, make):
    for _ in range(20):
        production_env.setenv("SECRET_KEY", make())
        production_env.setenv("JWT_SECRET_KEY", make())
        assert ProductionConfig.problems() == []


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("value", PUBLISHED_TESTING_KEYS)
def test_production_refuses_the_keys_once_published_for_testing(production_env, name, value):
    production_env.setenv(name, value)
    assert ProductionConfig.problems() == [f"{name} holds a development value"]
    assert value not in refusal()


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_a_simulator_key_as_a_secret(production_env, name):
    production_env.setenv(name, config.SIMULATOR_SERVER_KEY)
    assert ProductionConfig.problems() == [f"{name} holds a development value"]


def test_production_refuses_one_key_for_both_secrets(production_env):
    production_env.setenv("JWT_SECRET_KEY", PROPER["SECRET_KEY"])

    assert ProductionConfig.problems() == ["SECRET_KEY and JWT_SECRET_KEY are the same; give each its own value"]
    assert PROPER["SECRET_KEY"] not in refusal()


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_production_refuses_flask_debug(production_env, value):
    production_env.setenv("FLASK_DEBUG", value)
    assert ProductionConfig.problems() == ["FLASK_DEBUG is on; production never runs the debugger"]
    assert "FLASK_DEBUG" in refusal()


def test_production_accepts_flask_debug_off(production_env):
    production_env.setenv("FLASK_DEBUG", "0")
    assert ProductionConfig.problems() == []


SANDBOX = {"MIDTRANS_SERVER_KEY": "SB-Mid-server-" + secrets.token_urlsafe(18),
           "MIDTRANS_CLIENT_KEY": "SB-Mid-client-" + secrets.token_urlsafe(18)}


def test_production_refuses_sandbox_midtrans_keys_unless_told_it_is_staging(production_env):
    for name, value in SANDBOX.items():
        production_env.setenv(name, value)

    problems = ProductionConfig.problems()

    assert problems == [
        f"{name} is a sandbox key (SB-); use the production key, "
        "or set MIDTRANS_IS_PRODUCTION=false to run a staging server on the sandbox"
        for name in SANDBOX
    ]
    assert all(value not in refusal() for value in SANDBOX.values())
    production_env.setenv("MIDTRANS_IS_PRODUCTION", "false")
    assert ProductionConfig.problems() == []


@pytest.mark.parametrize(
    "is_production, keys, problem",
    [
        ("true", "sandbox", "{name} is a sandbox key (SB-) but MIDTRANS_IS_PRODUCTION is true"),
        ("false", "production", "{name} is a production key (Mid-) but MIDTRANS_IS_PRODUCTION is false"),
    ],
)
@pytest.mark.parametrize("name", ["MIDTRANS_SERVER_KEY", "MIDTRANS_CLIENT_KEY"])
def test_production_refuses_midtrans_keys_that_do_not_match_the_mode(production_env, is_production, keys, problem, name):
    production_env.setenv("MIDTRANS_IS_PRODUCTION", is_production)
    if keys == "sandbox":
        production_env.setenv(name, SANDBOX[name])
    else:  # every other key is a sandbox one, as on a staging server
        for other, value in SANDBOX.items():
            if other != name:
                production_env.setenv(other, value)

    assert ProductionConfig.problems() == [problem.format(name=name)]


def test_production_refuses_a_midtrans_mode_that_is_not_a_yes_or_no(production_env):
    production_env.setenv("MIDTRANS_IS_PRODUCTION", "maybe")
    assert ProductionConfig.problems() == ["MIDTRANS_IS_PRODUCTION must be true or false"]


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_production_refuses_a_bad_trusted_proxy_count(production_env, value):
    production_env.setenv("TRUSTED_PROXY_COUNT", value)
    assert ProductionConfig.problems() == [f"TRUSTED_PROXY_COUNT must be a whole number, 0 or more, not {value!r}"]


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


@pytest.mark.parametrize("value", ["-1", "two", "1.5", " "])
def test_a_bad_trusted_proxy_count_stops_any_app_from_starting(tmp_path, monkeypatch, value):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(DevelopmentConfig, "TRUSTED_PROXY_COUNT", value)
    with pytest.raises(RuntimeError, match="TRUSTED_PROXY_COUNT must be a whole number, 0 or more"):
        config_for("development")


@pytest.mark.parametrize("value, expected", [("0", 0), ("2", 2), (" 1 ", 1), (3, 3)])
def test_trusted_proxy_count_is_read_as_a_number(tmp_path, monkeypatch, value, expected):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(DevelopmentConfig, "TRUSTED_PROXY_COUNT", value)
    assert config_for("development").TRUSTED_PROXY_COUNT == expected


TESTING_SECRETS_SCRIPT = "import config, json; c = config.config_for('testing'); print(json.dumps([c.SECRET_KEY, c.JWT_SECRET_KEY]))"


def secrets_of_a_testing_process(**env):
    finished = subprocess.run([sys.executable, "-c", TESTING_SECRETS_SCRIPT], cwd=ROOT,
                              env=_clean_env(**env), capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def test_testing_makes_its_own_secrets_in_each_process(tmp_path):
    first = secrets_of_a_testing_process(INSTANCE_DIR=str(tmp_path))
    second = secrets_of_a_testing_process(INSTANCE_DIR=str(tmp_path))

    for secret_key, jwt_key in (first, second):
        assert secret_key != jwt_key
        assert len(secret_key) >= 64 and len(jwt_key) >= 64
        assert secret_key not in PUBLISHED_TESTING_KEYS and jwt_key not in PUBLISHED_TESTING_KEYS
    assert not set(first) & set(second)
    assert not (tmp_path / "secrets.json").exists()


def test_testing_takes_secrets_from_the_environment(tmp_path):
    given = [secrets.token_urlsafe(48), secrets.token_urlsafe(48)]
    assert secrets_of_a_testing_process(INSTANCE_DIR=str(tmp_path), SECRET_KEY=given[0], JWT_SECRET_KEY=given[1]) == given


def test_no_secret_is_written_in_config_py():
    source = (ROOT / "config.py").read_text()
    for value in PUBLISHED_TESTING_KEYS:
        assert value not in source


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


@pytest.mark.parametrize("setting", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META"])
def test_app_wide_rate_limits_are_refused_rather_than_ignored(setting):
    """Only limits declared on views are checked (PosLimiter skips Flask-Limiter's per-request pass)."""
    from flask import Flask

    from app.extensions import PosLimiter

    flask_app = Flask("limits")
    flask_app.config.update({setting: "100 per minute", "RATELIMIT_STORAGE_URI": "memory://"})
    limiter = PosLimiter(key_func=lambda: "client")
    limiter.init_app(flask_app)
    with pytest.raises(RuntimeError, match="App-wide rate limits .* declare limits on views"):
        limiter.refuse_limits_off_views(flask_app)


def test_a_rate_limit_on_a_nested_blueprint_is_refused_rather_than_ignored():
    from flask import Blueprint, Flask

    from app.extensions import PosLimiter

    flask_app = Flask("limits")
    flask_app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    limiter = PosLimiter(key_func=lambda: "client")
    limiter.init_app(flask_app)
    outer, inner = Blueprint("outer", __name__), Blueprint("inner", __name__)
    limiter.limit("100 per minute")(inner)
    outer.register_blueprint(inner)
    flask_app.register_blueprint(outer)

    with pytest.raises(RuntimeError, match=r"blueprints \(outer.inner\) .* declare limits on views"):
        limiter.refuse_limits_off_views(flask_app)


LIMITED_BLUEPRINT_SCRIPT = (
    "from app.extensions import limiter; from app.health.routes import blp; "
    "limiter.limit('100 per minute')(blp); from app import create_app; create_app('testing')"
)


def test_the_app_refuses_to_start_with_a_rate_limit_on_one_of_its_blueprints():
    """Blueprints register after the limiter's init_app, so create_app checks once they have."""
    started = subprocess.run([sys.executable, "-c", LIMITED_BLUEPRINT_SCRIPT], cwd=ROOT, env=dict(os.environ),
                             capture_output=True, text=True, timeout=60)

    assert started.returncode != 0
    assert "Rate limits on blueprints (health) are not checked in this project" in started.stderr

