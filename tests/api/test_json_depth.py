"""JSON bodies nested beyond a sane depth are a 400, never a 500, on every endpoint that reads JSON.

Python's parser recurses per level, so 50,000 `[` (or `{"a":` 3,000 deep)
used to raise RecursionError and answer 500 (the webhook's case is in
test_webhook_storage.py).
"""

import json

import pytest
from sqlalchemy import func, select

from app.customers.models import Customer
from app.extensions import db
from app.jsonbody import MAX_DEPTH
from tests.helpers import DEEP_BODIES, assert_error


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("raw", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/customers"])
def test_a_deeply_nested_body_is_400_naming_the_problem_and_changes_nothing(app, client, auth_headers, path, raw):
    response = client.post(path, headers=auth_headers("cashier"), data=raw, content_type="application/json")

    body = assert_error(response, 400)
    assert f"nested more than {MAX_DEPTH} levels" in json.dumps(body)
    assert count(app, Customer) == 0


def test_a_body_at_the_depth_limit_is_parsed_and_judged_by_its_schema(client, auth_headers):
    """MAX_DEPTH levels exactly is not refused for depth: the schema answers (422, `name` must be a string)."""
    nested = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    raw = '{"name": ' + nested + ', "phone": "0812-1111-2222"}'

    response = client.post("/api/customers", headers=auth_headers("cashier"), data=raw, content_type="application/json")

    assert "name" in assert_error(response, 422)["errors"]["json"]


def test_sign_in_still_reads_a_plain_body(client, make_user):
    user = make_user("cashier")

    response = client.post("/api/auth/login", json={"username": user["username"], "password": user["password"]})

    assert response.status_code == 200 and response.get_json()["user"]["username"] == user["username"]
