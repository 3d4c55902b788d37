"""GET /api/health (including outages), the OpenAPI document and Swagger UI."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from app.extensions import db
from app.users.models import User

ROOT = Path(__file__).resolve().parents[2]
CLOSED_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens there


# --- health --------------------------------------------------------------------


def test_health_with_a_running_worker_is_all_ok(client, celery_worker):
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.get_json() == {"db": "ok", "redis": "ok", "worker": "ok"}


def test_health_without_a_known_worker_still_reports_db_and_redis(app, client, monkeypatch):
    # A worker another test started may answer or not; either is a correct report.
    monkeypatch.setitem(app.config, "HEALTH_WORKER_TIMEOUT_SECONDS", 0.3)

    response = client.get("/api/health")

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"db", "redis", "worker"}
    assert body["db"] == "ok"
    assert body["redis"] == "ok"
    assert body["worker"] == "ok" or body["worker"].startswith("error")


def test_health_needs_no_token_and_ignores_a_bad_one(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "HEALTH_WORKER_TIMEOUT_SECONDS", 0.3)
    response = client.get("/api/health", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code in (200, 503)
    assert set(response.get_json()) == {"db", "redis", "worker"}


# An app whose Redis or database is down must be built in its own process:
# the extension objects (limiter storage, flask-smorest Api, Celery default
# app) are module-level and rebind to the newest app, which would break the
# session's app for every later test.
OUTAGE_SCRIPT = """
import json, sys
from app import create_app
from config import TestingConfig
from tests.helpers import assert_error

overrides, admin = json.loads(sys.argv[1]), json.loads(sys.argv[2])
token = admin["access_token"]
Outage = type("Outage", (TestingConfig,), overrides)
client = create_app(Outage).test_client()
bearer = {"Authorization": "Bearer " + token}
requests = {
    "health": ("get", "/api/health", {}),
    "me": ("get", "/api/auth/me", {"headers": bearer}),
    "create_user": ("post", "/api/users", {"headers": bearer, "json": {
        "username": "made-in-outage", "full_name": "Outage", "role": "cashier", "password": "outage-password"}}),
    "login": ("post", "/api/auth/login", {"json": {"username": admin["username"], "password": admin["password"]}}),
}
answers = {}
for name, (method, path, kwargs) in requests.items():
    response = getattr(client, method)(path, **kwargs)
    answers[name] = {"status": response.status_code, "json": response.is_json, "body": response.get_json(silent=True)}
print(json.dumps(answers))
"""


def run_outage_app(app, admin, **outage):
    """Build an app like the test app but with `outage` settings, in a fresh process, and call it.

    Everything not overridden points at this run's own database and Redis
    databases, so the outage app touches nothing of other runs.
    """
    overrides = {
        name: app.config[name]
        for name in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RATELIMIT_STORAGE_URI", "CELERY_BROKER_URL",
                     "CELERY_RESULT_BACKEND", "SECRET_KEY", "JWT_SECRET_KEY")
    }
    overrides.update(HEALTH_WORKER_TIMEOUT_SECONDS=0.3, **outage)
    finished = subprocess.run(
        [sys.executable, "-c", OUTAGE_SCRIPT, json.dumps(overrides), json.dumps(admin)],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def assert_unavailable(answer):
    assert answer["status"] == 503, answer
    assert answer["json"]
    assert answer["body"]["code"] == 503
    assert answer["body"]["status"] == "Service Unavailable"
    assert answer["body"]["message"]


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin")
    return {**user, "access_token": login(user)["access_token"]}


def test_redis_down_health_is_503_and_protected_endpoints_answer_503_json(app, admin):
    answers = run_outage_app(app, admin, REDIS_URL=CLOSED_REDIS, RATELIMIT_STORAGE_URI=CLOSED_REDIS)

    health = answers["health"]
    assert health["status"] == 503
    assert health["body"]["db"] == "ok"
    assert health["body"]["redis"].startswith("error")
    assert health["body"]["worker"].startswith("error")
    # A valid token cannot be checked against the blocklist, which lives in Redis.
    assert_unavailable(answers["me"])
    assert_unavailable(answers["create_user"])
    # The login limiter may fall back to counting in memory (200) or refuse (503); never a 500.
    if answers["login"]["status"] != 200:
        assert_unavailable(answers["login"])
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "made-in-outage")).first() is None


def test_database_down_health_is_503_and_protected_endpoints_answer_503_json(app, database_url, admin):
    url = make_url(database_url)
    missing = url.set(database=url.database + "_missing").render_as_string(hide_password=False)

    answers = run_outage_app(app, admin, SQLALCHEMY_DATABASE_URI=missing)

    health = answers["health"]
    assert health["status"] == 503
    assert health["body"]["db"].startswith("error")
    assert health["body"]["redis"] == "ok"
    assert_unavailable(answers["me"])
    assert_unavailable(answers["create_user"])
    assert_unavailable(answers["login"])


# --- OpenAPI ----------------------------------------------------------------------

STAFF_ROLES = ("admin", "supervisor", "cashier")
# (path, method): roles in x-access, or the policy's words for public and token-only operations.
OPERATIONS = {
    ("/api/auth/login", "post"): "public",
    ("/api/auth/refresh", "post"): "refresh",
    ("/api/auth/logout", "post"): "any token",
    ("/api/auth/me", "get"): STAFF_ROLES,
    ("/api/auth/password", "post"): STAFF_ROLES,
    ("/api/users", "get"): ("admin",),
    ("/api/users", "post"): ("admin",),
    ("/api/users/{user_id}", "get"): ("admin",),
    ("/api/users/{user_id}", "patch"): ("admin",),
    ("/api/users/{user_id}", "delete"): ("admin",),
    ("/api/users/{user_id}/password", "post"): ("admin",),
    ("/api/health", "get"): "public",
}
WITH_BODY = {
    ("/api/auth/login", "post"): {"username", "password"},
    ("/api/auth/logout", "post"): {"refresh_token"},
    ("/api/auth/password", "post"): {"current_password", "new_password"},
    ("/api/users", "post"): {"username", "full_name", "role", "password"},
    ("/api/users/{user_id}", "patch"): {"full_name", "role", "is_active"},
    ("/api/users/{user_id}/password", "post"): {"new_password"},
}
SUCCESS = {
    ("/api/auth/login", "post"): ("200", {"access_token", "refresh_token", "user"}),
    ("/api/auth/refresh", "post"): ("200", {"access_token"}),
    ("/api/auth/logout", "post"): ("204", None),
    ("/api/auth/me", "get"): ("200", {"id", "username", "role"}),
    ("/api/auth/password", "post"): ("200", {"access_token", "refresh_token", "user"}),
    ("/api/users", "get"): ("200", {"id", "username", "full_name", "role", "is_active"}),
    ("/api/users", "post"): ("201", {"id", "username", "full_name", "role", "is_active"}),
    ("/api/users/{user_id}", "get"): ("200", {"id", "username", "role"}),
    ("/api/users/{user_id}", "patch"): ("200", {"id", "username", "role"}),
    ("/api/users/{user_id}", "delete"): ("200", {"id", "is_active"}),
    ("/api/users/{user_id}/password", "post"): ("200", {"id", "username"}),
    ("/api/health", "get"): ("200", {"db", "redis", "worker"}),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def resolve(spec, node):
    """Follow `$ref`s within the document; fails on a dangling one."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            assert part in node, f"dangling $ref {ref}"
            node = node[part]
    return node


def all_refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node
        for value in node.values():
            yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def schema_properties(spec, schema):
    schema = resolve(spec, schema)
    if schema.get("type") == "array":
        schema = resolve(spec, schema["items"])
    return set(schema.get("properties", {}))


def test_openapi_document_is_structurally_valid_openapi_3(spec):
    # openapi-spec-validator is not installed in the venv, so these are the
    # structural rules of OpenAPI 3.0 that a generated document can break.
    assert re.fullmatch(r"3\.0\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert set(spec) <= {"openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs"}
    for ref in all_refs(spec):
        resolve(spec, ref)
    operation_ids = []
    for path, item in spec["paths"].items():
        assert path.startswith("/api/"), path
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                assert method in {"parameters", "summary", "description", "servers"}, (path, method)
                continue
            assert operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                assert status == "default" or re.fullmatch(r"[1-5]\d\d", status), (path, method, status)
                assert resolve(spec, response).get("description"), (path, method, status)
            parameters = [resolve(spec, p) for p in item.get("parameters", []) + operation.get("parameters", [])]
            for parameter in parameters:
                assert parameter["in"] in {"query", "header", "path", "cookie"}
                assert "schema" in parameter or "content" in parameter
            path_params = {p["name"] for p in parameters if p["in"] == "path"}
            assert path_params == set(re.findall(r"{(\w+)}", path)), (path, method)
            assert all(p["required"] is True for p in parameters if p["in"] == "path")
            if "operationId" in operation:
                operation_ids.append(operation["operationId"])
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(spec["components"]["securitySchemes"])
    assert len(operation_ids) == len(set(operation_ids))


def test_every_foundation_endpoint_is_documented_with_its_schemas(spec):
    for (path, method), (status, fields) in SUCCESS.items():
        operation = spec["paths"].get(path, {}).get(method)
        assert operation is not None, f"{method.upper()} {path} is not in the document"
        response = resolve(spec, operation["responses"][status])
        if fields is None:
            assert "content" not in response
        else:
            schema = response["content"]["application/json"]["schema"]
            assert fields <= schema_properties(spec, schema), (path, method)
        if (path, method) in WITH_BODY:
            body = resolve(spec, operation["requestBody"])
            schema = body["content"]["application/json"]["schema"]
            assert schema_properties(spec, schema) == WITH_BODY[(path, method)], (path, method)
        else:
            assert "requestBody" not in operation, (path, method)
    query = {p["name"] for p in spec["paths"]["/api/users"]["get"]["parameters"] if p["in"] == "query"}
    assert query >= {"q", "role", "is_active", "page", "page_size"}
    page_size = next(p for p in spec["paths"]["/api/users"]["get"]["parameters"] if p["name"] == "page_size")
    assert page_size["schema"]["maximum"] == 100
    assert "X-Pagination" in spec["paths"]["/api/users"]["get"]["responses"]["200"]["headers"]


def test_no_response_schema_carries_a_password(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                content = resolve(spec, response).get("content", {})
                for media in content.values():
                    properties = schema_properties(spec, media["schema"])
                    assert not any("password" in name for name in properties), (path, method, status)


def test_bearer_security_is_declared_and_each_operation_states_who_may_call_it(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for (path, method), who in OPERATIONS.items():
        operation = spec["paths"][path][method]
        access = operation["x-access"]
        if who == "public":
            assert operation["security"] == [], (path, method)
            assert "public" in access.lower()
            continue
        assert operation["security"] == [{"bearerAuth": []}], (path, method)
        assert "401" in operation["responses"], (path, method)
        if who == "refresh":
            assert "refresh token" in access
        elif who == "any token":
            assert "access or a refresh token" in access
        else:
            assert [role for role in STAFF_ROLES if role in access] == list(who), (path, method, access)
            assert ("403" in operation["responses"]) == (set(who) != set(STAFF_ROLES)), (path, method)
        assert access in operation["description"]


def test_swagger_ui_is_served_with_local_assets(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/openapi.json" in page
    assets = set(re.findall(r"/api/docs/assets/[\w.\-]+", page))
    assert "/api/docs/assets/swagger-ui-bundle.js" in assets
    for asset in assets:
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.get_data(), asset
        if asset.endswith(".js"):
            assert "javascript" in loaded.mimetype
        loaded.close()


def test_unknown_docs_asset_is_404(client):
    response = client.get("/api/docs/assets/no-such-file.js")
    assert response.status_code == 404
