"""Every failure answers in one JSON shape, `{code, status, message, errors?}`, and a 5xx is only for real faults."""


import pytest
import redis
from flask import Flask, abort
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.errors import register_error_handlers
from app.extensions import db
from app.users.models import User
from tests.helpers import assert_error

ONE_MIB = 1024 * 1024


def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("path", ["/api/nope", "/api/users/1/nope", "/api/users/not-a-number", "/nope"])
def test_unknown_path_is_404_json(client, auth_headers, path):
    assert_error(client.get(path, headers=auth_headers("admin")), 404)


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("get", "/api/auth/login", {"POST"}),
        ("delete", "/api/auth/login", {"POST"}),
        ("put", "/api/users", {"GET", "POST"}),
        ("put", "/api/users/1", {"GET", "PATCH", "DELETE"}),
        ("post", "/api/health", {"GET"}),
    ],
)
def test_wrong_method_is_405_json_with_an_allow_header(client, method, path, allowed):
    response = getattr(client, method)(path)

    assert_error(response, 405)
    offered = {name.strip() for name in response.headers["Allow"].split(",")}
    assert allowed <= offered
    assert method.upper() not in offered


def test_oversized_body_is_413_json_and_creates_nothing(app, client, auth_headers):
    assert app.config["MAX_CONTENT_LENGTH"] == ONE_MIB
    headers = auth_headers("admin")
    before = user_count(app)
    padding = "x" * ONE_MIB
    body = f'{{"username": "huge", "full_name": "{padding}", "role": "cashier", "password": "long-enough-pw"}}'

    response = client.post("/api/users", headers=headers, data=body, content_type="application/json")

    assert_error(response, 413)
    assert user_count(app) == before


def test_oversized_login_is_413_json_and_does_not_lock_the_username(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    user = make_user("cashier")
    body = f'{{"username": "{user["username"]}", "password": "{"p" * ONE_MIB}"}}'

    for _ in range(2):
        assert_error(client.post("/api/auth/login", data=body, content_type="application/json"), 413)

    assert client.post("/api/auth/login", json={"username": user["username"], "password": user["password"]}).status_code == 200


def test_a_body_just_under_the_cap_is_read(client, auth_headers):
    # Long enough to be near 1 MiB, refused by validation (422), not by size (413).
    body = f'{{"username": "near-cap", "full_name": "{"x" * (ONE_MIB - 200)}", "role": "cashier", "password": "long-enough-pw"}}'
    response = client.post("/api/users", headers=auth_headers("admin"), data=body, content_type="application/json")
    assert "full_name" in assert_error(response, 422)["errors"]["json"]


@pytest.mark.parametrize("raw", ["{bad", '{"username": "a",}', "\xff\xfe", "{" * 5000],
                         ids=["truncated", "trailing comma", "not utf-8", "deeply nested"])
def test_invalid_json_is_a_4xx_json_error_and_creates_nothing(app, client, auth_headers, raw):
    headers = auth_headers("admin")
    before = user_count(app)

    for path in ("/api/users", "/api/auth/login"):
        response = client.post(path, headers=headers, data=raw.encode("latin-1"), content_type="application/json")
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert_error(response, response.status_code)

    assert user_count(app) == before


@pytest.mark.parametrize("raw", ["[]", '"a string"', "42", "null"])
def test_json_that_is_not_an_object_is_422(app, client, auth_headers, raw):
    headers = auth_headers("admin")
    before = user_count(app)

    response = client.post("/api/users", headers=headers, data=raw, content_type="application/json")

    assert_error(response, 422)
    assert user_count(app) == before


@pytest.mark.parametrize(
    "data, content_type",
    [("username=a&password=b", "application/x-www-form-urlencoded"), ('{"username": "a"}', "text/plain")],
    ids=["form", "text"],
)
def test_a_body_that_is_not_json_is_422_not_a_crash(client, data, content_type):
    response = client.post("/api/auth/login", data=data, content_type=content_type)
    assert "username" in assert_error(response, 422)["errors"]["json"]


def test_field_errors_name_the_location_and_field(client, auth_headers):
    response = client.post("/api/users", headers=auth_headers("admin"), json={"role": "owner"})

    body = assert_error(response, 422)
    assert set(body["errors"]["json"]) == {"username", "full_name", "role", "password"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"]["json"].values())


def test_401_and_403_use_the_same_shape(client, auth_headers):
    assert_error(client.get("/api/users"), 401)
    assert_error(client.get("/api/users", headers=auth_headers("cashier")), 403)


# The handlers themselves, on a small app of their own, for faults the real
# endpoints cannot be made to raise on demand.


@pytest.fixture
def faulty_client():
    faulty = Flask("faulty")
    register_error_handlers(faulty)

    @faulty.route("/bug")
    def bug():
        raise ValueError("secret detail that must not leak")

    @faulty.route("/redis-down")
    def redis_down():
        raise redis.exceptions.ConnectionError("Connection refused")

    @faulty.route("/redis-slow")
    def redis_slow():
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    @faulty.route("/db-down")
    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    @faulty.route("/teapot")
    def teapot():
        abort(418)

    return faulty.test_client()


def test_an_unexpected_error_is_500_json_without_details(faulty_client):
    response = faulty_client.get("/bug")

    assert_error(response, 500)
    assert "secret detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/redis-down", "/redis-slow", "/db-down"])
def test_an_unavailable_redis_or_database_is_503_json(faulty_client, path):
    response = faulty_client.get(path)

    assert_error(response, 503)
    assert "refused" not in response.get_data(as_text=True)


def test_plain_http_errors_get_the_shape_too(faulty_client):
    assert_error(faulty_client.get("/teapot"), 418)
    assert_error(faulty_client.get("/nowhere"), 404)
