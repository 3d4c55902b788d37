"""Staff sign-in: login, lockout, refresh, logout, tokens that must stop working, own password."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import select

from app.auth.models import RevokedToken
from app.extensions import db
from app.users.models import User
from tests.helpers import assert_error, wait_for

ROOT = Path(__file__).resolve().parents[2]
BLOCKLIST_PATTERN = "jwt:blocklist:*"
BLOCKLIST_LOADED = "jwt:blocklist-loaded"
# The JWT key TestingConfig used to have, written in config.py for anyone to read.
PUBLISHED_TESTING_JWT_KEY = "testing-jwt-secret-key-not-for-production-use"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def user_row(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return None if user is None else {
            "username": user.username,
            "role": user.role,
            "is_active": user.is_active,
            "password_hash": user.password_hash,
            "token_version": user.token_version,
            "last_login_at": user.last_login_at,
        }


@pytest.fixture
def issued(app):
    """Tokens for a user as a successful login issues them, without paying for argon2 again.

    Tests about what a token can do use these; tests about signing in use the API.
    """
    from app.auth.tokens import issue_tokens

    def tokens_for(user):
        with app.app_context():
            return issue_tokens(db.session.get(User, user["id"]))

    return tokens_for


def sign_in(client, username, password, **kwargs):
    return client.post("/api/auth/login", json={"username": username, "password": password}, **kwargs)


# --- login -----------------------------------------------------------------


def test_login_returns_tokens_and_the_user_and_records_the_sign_in(app, client, make_user):
    user = make_user("supervisor")
    assert user_row(app, user["id"])["last_login_at"] is None

    response = sign_in(client, user["username"], user["password"])

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "user"}
    assert body["user"]["id"] == user["id"]
    assert body["user"]["username"] == user["username"]
    assert body["user"]["role"] == "supervisor"
    assert "password" not in response.get_data(as_text=True)
    assert user_row(app, user["id"])["last_login_at"] is not None

    me = client.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == user["id"]
    assert me.get_json()["role"] == "supervisor"


def test_login_username_is_case_insensitive_and_trimmed(client, make_user):
    user = make_user("cashier", username="kasir.satu")

    response = sign_in(client, "  Kasir.SATU ", user["password"])

    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "kasir.satu"


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "deactivated user"])
def test_login_with_bad_credentials_is_401_and_records_nothing(app, client, make_user, case):
    user = make_user("cashier", is_active=case != "deactivated user")
    username = "nobody-here" if case == "unknown user" else user["username"]
    password = "not-the-password" if case == "wrong password" else user["password"]

    response = sign_in(client, username, password)

    body = assert_error(response, 401)
    assert "access_token" not in body
    assert user_row(app, user["id"])["last_login_at"] is None


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    user = make_user("cashier")
    wrong_password = sign_in(client, user["username"], "not-the-password").get_json()
    unknown_user = sign_in(client, "nobody-here", "not-the-password").get_json()
    assert wrong_password == unknown_user


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "whatever-123"}, "username"),
        ({"username": "someone"}, "password"),
        ({"username": "someone", "password": "whatever-123", "remember": True}, "remember"),
        ({"username": "u" * 65, "password": "whatever-123"}, "username"),
        ({"username": "someone", "password": "p" * 129}, "password"),
        ({"username": "", "password": "whatever-123"}, "username"),
        ({"username": 42, "password": "whatever-123"}, "username"),
    ],
    ids=["no username", "no password", "unknown field", "long username", "long password", "empty", "not a string"],
)
def test_login_with_bad_input_is_422_naming_the_field(app, client, make_user, body, field):
    user = make_user("cashier", username="someone")

    response = client.post("/api/auth/login", json=body)

    error = assert_error(response, 422)
    assert field in error["errors"]["json"]
    assert user_row(app, user["id"])["last_login_at"] is None


# --- lockout (429) -----------------------------------------------------------


def test_eleventh_attempt_after_ten_failures_is_429_even_with_the_right_password(app, client, make_user):
    assert app.config["LOGIN_RATE_LIMIT"] == "10 per minute"
    user = make_user("cashier")
    other = make_user("cashier")

    for _ in range(10):
        assert sign_in(client, user["username"], "not-the-password").status_code == 401

    locked = sign_in(client, user["username"], user["password"])
    body = assert_error(locked, 429)
    assert "access_token" not in body
    assert locked.headers.get("Retry-After")
    assert user_row(app, user["id"])["last_login_at"] is None
    # Another spelling of the same username is the same account, so it is locked too.
    assert_error(sign_in(client, user["username"].upper(), user["password"]), 429)

    # Another username from the same address is not locked.
    assert sign_in(client, other["username"], other["password"]).status_code == 200


def test_lockout_limit_is_read_from_config_per_request(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = make_user("cashier")

    for _ in range(3):
        assert sign_in(client, user["username"], "not-the-password").status_code == 401

    assert_error(sign_in(client, user["username"], user["password"]), 429)


def test_successful_logins_do_not_count_towards_the_lockout(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = make_user("cashier")

    assert sign_in(client, user["username"], "not-the-password").status_code == 401
    assert sign_in(client, user["username"], "not-the-password").status_code == 401
    for _ in range(2):
        assert sign_in(client, user["username"], user["password"]).status_code == 200
    # Had the successes counted, this third failure would already be refused.
    assert sign_in(client, user["username"], "not-the-password").status_code == 401

    assert_error(sign_in(client, user["username"], user["password"]), 429)


def test_bad_input_does_not_count_towards_the_lockout(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    user = make_user("cashier")

    for _ in range(3):
        response = client.post("/api/auth/login", json={"username": user["username"], "password": "p" * 200})
        assert response.status_code == 422

    assert sign_in(client, user["username"], user["password"]).status_code == 200


def test_lockout_is_per_client_address(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    user = make_user("cashier")
    here = {"environ_base": {"REMOTE_ADDR": "10.1.1.1"}}
    elsewhere = {"environ_base": {"REMOTE_ADDR": "10.2.2.2"}}

    for _ in range(2):
        assert sign_in(client, user["username"], "not-the-password", **here).status_code == 401

    assert_error(sign_in(client, user["username"], user["password"], **here), 429)
    assert sign_in(client, user["username"], user["password"], **elsewhere).status_code == 200


# --- spraying: one username from many addresses, many usernames from one address ---


def from_address(address):
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_one_username_guessed_from_three_addresses_is_locked_after_the_username_limit(app, client, make_user):
    assert app.config["LOGIN_USERNAME_RATE_LIMIT"] == "20 per 10 minutes"
    user = make_user("cashier")
    other = make_user("cashier")
    addresses = ["198.51.100.7", "198.51.100.8", "198.51.100.9"]

    # Round robin: no address reaches the per-address limits (10 each at most).
    answers = [sign_in(client, user["username"], f"guess-{n}", **from_address(addresses[n % 3])).status_code
               for n in range(30)]

    assert answers == [401] * 20 + [429] * 10
    locked = sign_in(client, user["username"], user["password"], **from_address("203.0.113.50"))
    assert "for this username" in assert_error(locked, 429)["message"]
    assert locked.headers.get("Retry-After")
    assert user_row(app, user["id"])["last_login_at"] is None
    # Only that username: another one signs in from one of the same addresses.
    assert sign_in(client, other["username"], other["password"], **from_address(addresses[0])).status_code == 200


def test_many_usernames_from_one_address_are_locked_after_the_address_limit(app, client, make_user):
    assert app.config["LOGIN_ADDRESS_RATE_LIMIT"] == "15 per 10 minutes"
    users = [make_user("cashier") for _ in range(20)]
    spraying = from_address("198.51.100.7")

    answers = [sign_in(client, user["username"], "Sayang123", **spraying).status_code for user in users]

    assert answers == [401] * 15 + [429] * 5
    locked = sign_in(client, users[0]["username"], users[0]["password"], **spraying)
    assert "from this address" in assert_error(locked, 429)["message"]
    # Another address, even for a username that was sprayed, still signs in.
    for user in (users[0], make_user("supervisor")):
        assert sign_in(client, user["username"], user["password"], **from_address("203.0.113.50")).status_code == 200


def test_the_spraying_limits_count_only_failures_and_are_read_from_config(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_USERNAME_RATE_LIMIT", "2 per 10 minutes")
    monkeypatch.setitem(app.config, "LOGIN_ADDRESS_RATE_LIMIT", "3 per 10 minutes")
    user = make_user("cashier")
    here = from_address("198.51.100.7")

    for _ in range(3):
        assert sign_in(client, user["username"], user["password"], **here).status_code == 200
    assert sign_in(client, user["username"], "guess-1", **here).status_code == 401
    assert sign_in(client, user["username"], "guess-2", **from_address("198.51.100.8")).status_code == 401
    assert_error(sign_in(client, user["username"], user["password"], **from_address("198.51.100.9")), 429)

    # The address has one failure (guess-1); two more for other usernames reach its limit of 3.
    assert sign_in(client, "nobody-1", "guess-3", **here).status_code == 401
    assert sign_in(client, "nobody-2", "guess-4", **here).status_code == 401
    assert_error(sign_in(client, "nobody-3", "guess-5", **here), 429)


def forwarded_for(address):
    """A request from the local proxy (REMOTE_ADDR 127.0.0.1) saying it forwards for `address`."""
    return {"environ_base": {"REMOTE_ADDR": "127.0.0.1"}, "headers": {"X-Forwarded-For": address}}


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, client, make_user, monkeypatch):
    assert app.config["TRUSTED_PROXY_COUNT"] == 0
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    user = make_user("cashier")

    assert sign_in(client, user["username"], "not-the-password", **forwarded_for("203.0.113.9")).status_code == 401
    assert sign_in(client, user["username"], "not-the-password", **forwarded_for("198.51.100.7")).status_code == 401

    # Every "forwarded" address is the peer 127.0.0.1: one bucket, now full.
    assert_error(sign_in(client, user["username"], user["password"], **forwarded_for("192.0.2.44")), 429)
    assert user_row(app, user["id"])["last_login_at"] is None


# Built in its own process: the extension objects are module-level and rebind to the newest app
# (see tests/api/test_health_and_docs.py).
PROXIED_APP_SCRIPT = """
import json, sys
from app import create_app
from config import TestingConfig

overrides, username, password, attempts = json.loads(sys.argv[1])
Proxied = type("Proxied", (TestingConfig,), overrides)
client = create_app(Proxied).test_client()
statuses = []
for forwarded_for, right in attempts:
    response = client.post("/api/auth/login", json={"username": username, "password": password if right else "wrong-one"},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"X-Forwarded-For": forwarded_for})
    statuses.append(response.status_code)
print(json.dumps(statuses))
"""


def test_behind_one_trusted_proxy_each_client_has_its_own_login_bucket(app, make_user):
    user = make_user("cashier")
    overrides = {
        name: app.config[name]
        for name in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RATELIMIT_STORAGE_URI", "CELERY_BROKER_URL",
                     "CELERY_RESULT_BACKEND", "SECRET_KEY", "JWT_SECRET_KEY")
    }
    overrides.update(TRUSTED_PROXY_COUNT=1, LOGIN_RATE_LIMIT="2 per minute")
    attempts = [
        ("203.0.113.9", False),
        ("203.0.113.9", False),
        ("203.0.113.9", True),  # this client's bucket is full
        ("198.51.100.7", True),  # another client behind the same proxy is not locked out
        # Only the last hop is the proxy's word; what the client wrote before it is not believed.
        ("10.9.9.9, 203.0.113.9", True),
        ("203.0.113.9, 198.51.100.7", False),
    ]

    finished = subprocess.run(
        [sys.executable, "-c", PROXIED_APP_SCRIPT, json.dumps([overrides, user["username"], user["password"], attempts])],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == [401, 401, 429, 200, 429, 401]


# --- refresh -----------------------------------------------------------------


def test_refresh_token_gets_a_new_access_token(client, make_user, login):
    user = make_user("cashier")
    tokens = login(user)

    response = client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"]))

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token"}
    me = client.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == user["id"]


def test_refresh_with_an_access_token_is_401(client, make_user, issued):
    tokens = issued(make_user("cashier"))
    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["access_token"])), 401)


def test_refresh_token_is_not_an_access_token(client, make_user, issued):
    tokens = issued(make_user("admin"))
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["refresh_token"])), 401)
    assert_error(client.get("/api/users", headers=bearer(tokens["refresh_token"])), 401)


def test_refresh_without_a_token_is_401(client):
    assert_error(client.post("/api/auth/refresh"), 401)


# --- logout and the blocklist -----------------------------------------------


def test_logout_revokes_the_presented_token_until_it_would_expire(app, client, make_user, issued, app_redis):
    tokens = issued(make_user("cashier"))

    response = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post("/api/auth/logout", headers=bearer(tokens["access_token"])), 401)
    # Only the presented token: the refresh token still works.
    assert client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 200

    keys = app_redis.keys(BLOCKLIST_PATTERN)
    assert len(keys) == 1
    access_lifetime = app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()
    assert 0 < app_redis.ttl(keys[0]) <= access_lifetime + 1


def test_logout_with_the_refresh_token_in_the_body_revokes_both(app, client, make_user, issued, app_redis):
    tokens = issued(make_user("cashier"))

    response = client.post(
        "/api/auth/logout", headers=bearer(tokens["access_token"]), json={"refresh_token": tokens["refresh_token"]}
    )

    assert response.status_code == 204
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)
    keys = app_redis.keys(BLOCKLIST_PATTERN)
    assert len(keys) == 2
    refresh_lifetime = app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()
    assert all(0 < app_redis.ttl(key) <= refresh_lifetime + 1 for key in keys)


def test_logout_with_a_refresh_token_as_bearer_revokes_it(client, make_user, issued):
    tokens = issued(make_user("cashier"))

    assert client.post("/api/auth/logout", headers=bearer(tokens["refresh_token"])).status_code == 204

    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 200


def test_logout_cannot_revoke_someone_elses_refresh_token(client, make_user, issued, app_redis):
    mine = issued(make_user("cashier"))
    theirs = issued(make_user("cashier"))

    response = client.post(
        "/api/auth/logout", headers=bearer(mine["access_token"]), json={"refresh_token": theirs["refresh_token"]}
    )

    assert response.status_code == 204
    assert len(app_redis.keys(BLOCKLIST_PATTERN)) == 1
    assert client.post("/api/auth/refresh", headers=bearer(theirs["refresh_token"])).status_code == 200


def test_logout_with_a_garbage_refresh_token_still_signs_out(client, make_user, issued, app_redis):
    tokens = issued(make_user("cashier"))

    response = client.post(
        "/api/auth/logout", headers=bearer(tokens["access_token"]), json={"refresh_token": "not-a-jwt"}
    )

    assert response.status_code == 204
    assert len(app_redis.keys(BLOCKLIST_PATTERN)) == 1
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)


def test_logout_with_bad_input_is_422_and_revokes_nothing(client, make_user, issued, app_redis):
    tokens = issued(make_user("cashier"))

    response = client.post("/api/auth/logout", headers=bearer(tokens["access_token"]), json={"everywhere": True})

    assert "everywhere" in assert_error(response, 422)["errors"]["json"]
    assert app_redis.keys(BLOCKLIST_PATTERN) == []
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 200


def test_logout_without_a_token_is_401(client, app_redis):
    assert_error(client.post("/api/auth/logout"), 401)
    assert app_redis.keys(BLOCKLIST_PATTERN) == []


def revoked_rows(app):
    with app.app_context():
        return {row.jti: row for row in db.session.scalars(select(RevokedToken))}


def jti_of(token):
    return pyjwt.decode(token, options={"verify_signature": False})["jti"]


def test_logout_is_recorded_in_the_database_in_the_same_request(app, client, make_user, issued):
    user = make_user("cashier")
    tokens = issued(user)

    response = client.post(
        "/api/auth/logout", headers=bearer(tokens["access_token"]), json={"refresh_token": tokens["refresh_token"]}
    )

    assert response.status_code == 204
    rows = revoked_rows(app)
    assert set(rows) == {jti_of(tokens["access_token"]), jti_of(tokens["refresh_token"])}
    for token in (tokens["access_token"], tokens["refresh_token"]):
        row = rows[jti_of(token)]
        assert row.user_id == user["id"]
        exp = pyjwt.decode(token, options={"verify_signature": False})["exp"]
        assert row.expires_at == datetime.fromtimestamp(exp, timezone.utc)


def test_logout_outlives_the_loss_of_redis(app, client, make_user, login, app_redis):
    """FLUSHDB of the app's Redis database stands in for a Redis restart without persistence:
    both leave Redis empty, the blocklist and every other key gone."""
    user = make_user("cashier")
    tokens = login(user)
    other_device = login(user)
    assert client.post(
        "/api/auth/logout", headers=bearer(tokens["access_token"]), json={"refresh_token": tokens["refresh_token"]}
    ).status_code == 204
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)

    app_redis.flushdb()

    body = assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)
    assert "revoked" in body["message"]
    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)
    # Signing out one device did not sign out the other.
    assert client.get("/api/auth/me", headers=bearer(other_device["access_token"])).status_code == 200
    # The blocklist is back in Redis, each key with its token's remaining life, and marked loaded.
    assert app_redis.get(BLOCKLIST_LOADED) == "1"
    refresh_lifetime = app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()
    keys = app_redis.keys(BLOCKLIST_PATTERN)
    assert sorted(keys) == sorted(f"jwt:blocklist:{jti_of(t)}" for t in (tokens["access_token"], tokens["refresh_token"]))
    assert all(0 < app_redis.ttl(key) <= refresh_lifetime + 1 for key in keys)
    assert len(revoked_rows(app)) == 2


def test_a_lost_sentinel_reloads_the_blocklist_from_the_database(app, client, make_user, issued, app_redis):
    """Only the sentinel is gone (as if the blocklist keys had been lost with it): the next request reloads."""
    user = make_user("cashier")
    signed_out, still_in = issued(user), issued(user)
    assert client.post("/api/auth/logout", headers=bearer(signed_out["access_token"])).status_code == 204
    assert client.get("/api/auth/me", headers=bearer(still_in["access_token"])).status_code == 200
    assert app_redis.get(BLOCKLIST_LOADED) == "1"
    blocked_key = f"jwt:blocklist:{jti_of(signed_out['access_token'])}"

    app_redis.delete(BLOCKLIST_LOADED)
    app_redis.delete(blocked_key)  # a sentinel missing means Redis's blocklist cannot be trusted

    assert client.get("/api/auth/me", headers=bearer(still_in["access_token"])).status_code == 200
    assert app_redis.get(BLOCKLIST_LOADED) == "1"
    access_lifetime = app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()
    assert 0 < app_redis.ttl(blocked_key) <= access_lifetime + 1
    assert_error(client.get("/api/auth/me", headers=bearer(signed_out["access_token"])), 401)


def test_concurrent_reloads_after_a_flush_all_refuse_the_revoked_token(app, make_user, issued, app_redis):
    from concurrent.futures import ThreadPoolExecutor

    tokens = issued(make_user("cashier"))
    assert app.test_client().post("/api/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    app_redis.flushdb()

    def me(_):
        return app.test_client().get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(me, range(16))) == {401}
    assert app_redis.get(BLOCKLIST_LOADED) == "1"


def test_expired_revocations_are_purged_and_never_reloaded(app, client, make_user, issued, app_redis):
    from tasks.maintenance import purge_revoked_tokens

    user = make_user("cashier")
    old, live = issued(user), issued(user)
    for tokens in (old, live):
        assert client.post("/api/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    with app.app_context():
        row = db.session.get(RevokedToken, jti_of(old["access_token"]))
        row.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
    app_redis.flushdb()
    assert_error(client.get("/api/auth/me", headers=bearer(live["access_token"])), 401)
    assert app_redis.keys(BLOCKLIST_PATTERN) == [f"jwt:blocklist:{jti_of(live['access_token'])}"]

    with app.app_context():
        assert purge_revoked_tokens() == 1

    assert set(revoked_rows(app)) == {jti_of(live["access_token"])}
    assert_error(client.get("/api/auth/me", headers=bearer(live["access_token"])), 401)


def test_purging_revoked_tokens_is_on_the_beat_schedule(app):
    from tasks.schedule import beat_schedule

    entry = beat_schedule(app.config)["purge-revoked-tokens"]
    assert entry["task"] == "maintenance.purge_revoked_tokens"
    assert entry["schedule"] <= 24 * 3600


# --- tokens that are not good ----------------------------------------------


def _forged(app, user, **changes):
    """A token for `user` with these claim changes, signed with a key the app does not have."""
    with app.app_context():
        real = create_access_token(identity=str(user["id"]), additional_claims={"role": user["role"], "ver": 1})
    claims = {**pyjwt.decode(real, options={"verify_signature": False}), **changes}
    return pyjwt.encode(claims, "an-attacker-key-that-is-long-enough-for-hs256", algorithm="HS256")


def _tampered(app, user):
    """A real token whose payload was edited after signing."""
    with app.app_context():
        real = create_access_token(identity=str(user["id"]), additional_claims={"role": "cashier", "ver": 1})
    header, _, signature = real.split(".")
    claims = {**pyjwt.decode(real, options={"verify_signature": False}), "role": "admin"}
    payload = pyjwt.encode(claims, "only-the-payload-part-is-kept-from-this", algorithm="HS256").split(".")[1]
    return f"{header}.{payload}.{signature}"


def _unsigned(app, user):
    with app.app_context():
        real = create_access_token(identity=str(user["id"]), additional_claims={"role": user["role"], "ver": 1})
    claims = pyjwt.decode(real, options={"verify_signature": False})
    return pyjwt.encode(claims, None, algorithm="none")


def _expired(app, user):
    with app.app_context():
        return create_access_token(
            identity=str(user["id"]), additional_claims={"role": user["role"], "ver": 1}, expires_delta=timedelta(seconds=-1)
        )


def _for_missing_user(app, user):
    with app.app_context():
        return create_access_token(identity=str(user["id"] + 10_000), additional_claims={"role": "admin", "ver": 1})


@pytest.mark.parametrize(
    "make_token", [_forged, _tampered, _unsigned, _expired, _for_missing_user],
    ids=["forged", "tampered", "alg none", "expired", "user does not exist"],
)
def test_bad_tokens_are_401_in_the_error_shape(app, client, make_user, make_token):
    admin = make_user("admin")
    token = make_token(app, admin)

    assert_error(client.get("/api/auth/me", headers=bearer(token)), 401)
    response = client.post("/api/users", headers=bearer(token), json={
        "username": "sneaky", "full_name": "Sneaky", "role": "admin", "password": "sneaky-password"})
    assert_error(response, 401)
    with app.app_context():
        assert db.session.query(User).filter_by(username="sneaky").count() == 0


def test_expired_token_says_so(app, client, make_user):
    body = assert_error(client.get("/api/auth/me", headers=bearer(_expired(app, make_user("cashier")))), 401)
    assert "expired" in body["message"]


def test_a_token_that_worked_is_refused_once_it_expires(app, client, make_user):
    """Verified tokens are remembered per process (PosJWTManager); their expiry is still checked on every use."""
    cashier = make_user("cashier")
    with app.app_context():
        token = create_access_token(identity=str(cashier["id"]), additional_claims={"role": "cashier", "ver": 1},
                                    expires_delta=timedelta(seconds=2))
    expires_at = pyjwt.decode(token, options={"verify_signature": False})["exp"]
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200

    wait_for(lambda: time.time() >= expires_at + 0.1, timeout=5, message="the token's expiry")
    body = assert_error(client.get("/api/auth/me", headers=bearer(token)), 401)
    assert "expired" in body["message"]


def test_a_token_that_worked_does_not_lend_its_signature_to_an_edited_copy(app, client, make_user):
    cashier = make_user("cashier")
    with app.app_context():
        token = create_access_token(identity=str(cashier["id"]), additional_claims={"role": "cashier", "ver": 1})
    assert client.get("/api/auth/me", headers=bearer(token)).get_json()["role"] == "cashier"

    header, _, signature = token.split(".")
    claims = {**pyjwt.decode(token, options={"verify_signature": False}), "role": "admin"}
    payload = pyjwt.encode(claims, "only-the-payload-part-is-kept-from-this", algorithm="HS256").split(".")[1]
    assert_error(client.get("/api/auth/me", headers=bearer(f"{header}.{payload}.{signature}")), 401)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200


def test_a_token_without_an_expiry_is_refused_on_every_request(app, client, make_user):
    """Signed with the app's real key, but with no `exp`: it would never expire, so it is never accepted."""
    admin = make_user("admin")
    with app.app_context():
        token = create_access_token(identity=str(admin["id"]), additional_claims={"role": "admin", "ver": 1},
                                    expires_delta=False)
        refresh = create_refresh_token(identity=str(admin["id"]), additional_claims={"ver": 1}, expires_delta=False)
    assert "exp" not in pyjwt.decode(token, options={"verify_signature": False})

    for _ in range(2):  # not remembered as verified either (PosJWTManager)
        body = assert_error(client.get("/api/auth/me", headers=bearer(token)), 401)
        assert "must expire" in body["message"]
    assert_error(client.get("/api/users", headers=bearer(token)), 401)
    body = assert_error(client.post("/api/auth/refresh", headers=bearer(refresh)), 401)
    assert "must expire" in body["message"]


def test_a_token_signed_with_the_published_testing_key_is_refused(app, client, make_user):
    """The testing configuration once had this key written in config.py; it makes its own keys now."""
    admin = make_user("admin")
    with app.app_context():
        real = create_access_token(identity=str(admin["id"]), additional_claims={"role": "admin", "ver": 1})
    claims = pyjwt.decode(real, options={"verify_signature": False})
    forged = pyjwt.encode(claims, PUBLISHED_TESTING_JWT_KEY, algorithm="HS256")

    assert_error(client.get("/api/users", headers=bearer(forged)), 401)
    assert client.get("/api/users", headers=bearer(real)).status_code == 200
    assert app.config["JWT_SECRET_KEY"] != PUBLISHED_TESTING_JWT_KEY


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c", "Token abc", "Basic dXNlcjpwYXNz"],
    ids=["missing", "empty", "bearer only", "bearer blank", "not a jwt", "three junk segments", "other scheme", "basic"],
)
def test_missing_or_malformed_authorization_header_is_401(client, header):
    headers = {} if header is None else {"Authorization": header}
    assert_error(client.get("/api/auth/me", headers=headers), 401)


# --- tokens that stop working -------------------------------------------------


def test_deactivation_ends_live_tokens_and_reactivation_does_not_revive_them(app, client, make_user, login, auth_headers):
    admin = auth_headers("admin")
    cashier = make_user("cashier")
    tokens = login(cashier)

    assert client.delete(f"/api/users/{cashier['id']}", headers=admin).status_code == 200
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)

    assert client.patch(f"/api/users/{cashier['id']}", headers=admin, json={"is_active": True}).status_code == 200
    assert user_row(app, cashier["id"])["is_active"] is True
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)

    fresh = login(cashier)
    assert client.get("/api/auth/me", headers=bearer(fresh["access_token"])).status_code == 200


def test_role_change_applies_to_live_tokens_at_once(client, make_user, issued, auth_headers):
    admin = auth_headers("admin")
    other_admin = make_user("admin")
    tokens = issued(other_admin)
    assert client.get("/api/users", headers=bearer(tokens["access_token"])).status_code == 200

    assert client.patch(f"/api/users/{other_admin['id']}", headers=admin, json={"role": "cashier"}).status_code == 200

    assert_error(client.get("/api/users", headers=bearer(tokens["access_token"])), 403)
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).get_json()["role"] == "cashier"


def test_password_reset_by_admin_ends_old_tokens_and_the_new_password_works(app, client, make_user, issued, auth_headers):
    admin = auth_headers("admin")
    cashier = make_user("cashier")
    tokens = issued(cashier)

    response = client.post(f"/api/users/{cashier['id']}/password", headers=admin, json={"new_password": "brand-new-pass"})

    assert response.status_code == 200
    assert_error(client.get("/api/auth/me", headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post("/api/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)
    assert_error(sign_in(client, cashier["username"], cashier["password"]), 401)
    assert sign_in(client, cashier["username"], "brand-new-pass").status_code == 200


# --- own password ----------------------------------------------------------------


def test_own_password_change_returns_new_tokens_and_ends_the_old_ones(app, client, make_user, login):
    user = make_user("cashier")
    old = login(user)
    other_device = login(user)
    hash_before = user_row(app, user["id"])["password_hash"]

    response = client.post(
        "/api/auth/password",
        headers=bearer(old["access_token"]),
        json={"current_password": user["password"], "new_password": "my-new-password"},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "user"}
    assert body["user"]["id"] == user["id"]
    assert "password" not in body["user"]
    row = user_row(app, user["id"])
    assert row["password_hash"] != hash_before
    assert row["password_hash"].startswith("$argon2id$")

    for token in (old["access_token"], other_device["access_token"]):
        assert_error(client.get("/api/auth/me", headers=bearer(token)), 401)
    assert_error(client.post("/api/auth/refresh", headers=bearer(old["refresh_token"])), 401)
    assert client.get("/api/auth/me", headers=bearer(body["access_token"])).status_code == 200
    assert client.post("/api/auth/refresh", headers=bearer(body["refresh_token"])).status_code == 200
    assert_error(sign_in(client, user["username"], user["password"]), 401)
    assert sign_in(client, user["username"], "my-new-password").status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({"current_password": "not-my-password", "new_password": "my-new-password"}, "current_password"),
        ({"current_password": "correct-horse-battery", "new_password": "short"}, "new_password"),
        ({"new_password": "my-new-password"}, "current_password"),
        ({"current_password": "correct-horse-battery"}, "new_password"),
        ({"current_password": "correct-horse-battery", "new_password": "my-new-password", "user_id": 1}, "user_id"),
    ],
    ids=["wrong current", "short new", "no current", "no new", "unknown field"],
)
def test_own_password_change_with_bad_input_is_422_and_changes_nothing(app, client, make_user, issued, body, field):
    user = make_user("cashier")
    tokens = issued(user)
    before = user_row(app, user["id"])

    response = client.post("/api/auth/password", headers=bearer(tokens["access_token"]), json=body)

    assert field in assert_error(response, 422)["errors"]["json"]
    after = user_row(app, user["id"])
    assert after["password_hash"] == before["password_hash"]
    assert after["token_version"] == before["token_version"]
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 200


@pytest.mark.parametrize("password", ["12345678", "password", "aaaaaaaa", "        ", "Passw0rd", "kasir.satu.1"])
def test_own_password_change_to_a_guessable_password_is_422_and_changes_nothing(app, client, make_user, issued,
                                                                                 password):
    user = make_user("cashier", username="kasir.satu")
    tokens = issued(user)
    before = user_row(app, user["id"])

    response = client.post("/api/auth/password", headers=bearer(tokens["access_token"]),
                           json={"current_password": user["password"], "new_password": password})

    body = assert_error(response, 422)
    assert set(body["errors"]["json"]) == {"new_password"}
    assert "new_password" in body["message"]
    assert user_row(app, user["id"]) == before


def change_password(client, tokens, current, new="gerobak hujan pelangi"):
    return client.post("/api/auth/password", headers=bearer(tokens["access_token"]),
                       json={"current_password": current, "new_password": new})


def set_own_pin(client, tokens, current, pin="2468"):
    return client.put("/api/auth/pin", headers=bearer(tokens["access_token"]), json={"current_password": current, "pin": pin})


def test_five_wrong_current_passwords_lock_the_password_change_even_with_the_right_one(app, client, make_user, issued):
    assert app.config["PASSWORD_CHANGE_RATE_LIMIT"] == "5 per 15 minutes"
    user = make_user("cashier")
    other = make_user("cashier")
    tokens = issued(user)
    before = user_row(app, user["id"])

    for n in range(5):
        assert "current_password" in assert_error(change_password(client, tokens, f"guess-{n}"), 422)["errors"]["json"]

    locked = change_password(client, tokens, user["password"])

    assert "wrong current passwords" in assert_error(locked, 429)["message"]
    assert locked.headers.get("Retry-After")
    assert user_row(app, user["id"]) == before
    assert client.get("/api/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
    # The lock is the user's, not the address's: another user changes theirs.
    assert change_password(client, issued(other), other["password"]).status_code == 200


def test_setting_the_pin_shares_the_wrong_current_password_limit(app, client, make_user, issued):
    from app.users.models import User as UserModel

    supervisor = make_user("supervisor")
    tokens = issued(supervisor)
    before = user_row(app, supervisor["id"])

    for n in range(3):
        assert_error(set_own_pin(client, tokens, f"guess-{n}"), 422)
    for n in range(2):
        assert_error(change_password(client, tokens, f"guess-{n + 3}"), 422)

    assert_error(set_own_pin(client, tokens, supervisor["password"]), 429)
    assert_error(change_password(client, tokens, supervisor["password"]), 429)
    assert user_row(app, supervisor["id"]) == before
    with app.app_context():
        assert db.session.get(UserModel, supervisor["id"]).pin_hash is None


def test_only_a_wrong_current_password_counts_towards_the_limit(app, client, make_user, issued):
    user = make_user("supervisor")
    tokens = issued(user)

    for _ in range(6):
        assert_error(change_password(client, tokens, user["password"], new="password"), 422)  # weak new password
        assert_error(change_password(client, tokens, "", new="short"), 422)  # a malformed body
        assert_error(set_own_pin(client, tokens, user["password"], pin="12"), 422)

    assert set_own_pin(client, tokens, user["password"]).status_code == 204
    assert change_password(client, tokens, user["password"]).status_code == 200


def test_own_password_change_needs_an_access_token(app, client, make_user, issued):
    user = make_user("cashier")
    tokens = issued(user)
    hash_before = user_row(app, user["id"])["password_hash"]
    body = {"current_password": user["password"], "new_password": "my-new-password"}

    assert_error(client.post("/api/auth/password", json=body), 401)
    assert_error(client.post("/api/auth/password", headers=bearer(tokens["refresh_token"]), json=body), 401)
    assert user_row(app, user["id"])["password_hash"] == hash_before


def test_me_for_every_role(client, make_user, login):
    for role in ("admin", "supervisor", "cashier"):
        user = make_user(role)
        response = client.get("/api/auth/me", headers=bearer(login(user)["access_token"]))
        assert response.status_code == 200
        body = response.get_json()
        assert body["username"] == user["username"]
        assert body["role"] == role
        assert not any("password" in key for key in body)
