"""Schemathesis against the app on PostgreSQL, as admin and as cashier: every operation, default checks.

Each role is one pytest test; schemathesis runs every operation of
/api/openapi.json as a subtest, through its examples, coverage and fuzzing
phases, positive and negative data, and applies all its default checks to
each response (server errors, status codes, content types, response
schemas and headers, accepted invalid data, rejected valid data ...).

- `FUZZ_MAX_EXAMPLES` (default 3) sets Hypothesis's examples per operation
  and phase; generation is deterministic (`derandomize`), so CI sees the
  same cases every run. With `-s` the number of cases is printed, and it is
  written to artifacts/fuzz-<role>.json either way.
- Every case gets a fresh token of a user of the role, who is made active
  again with that role first: the fuzzer logs out, changes the password,
  and deactivates or demotes users (itself among them), which would
  otherwise leave the following cases with a dead token.
- Small ids in paths and bodies (1, 2, 3 ...) are mapped to rows that exist
  (products with stock, a customer, a sale, a parked cart, an online order),
  so the fuzzer reaches past "not found" into checkout, carts, refunds.
"""

import json
import os
import re
import uuid
from collections import Counter

import pytest
import schemathesis
from _pytest.nodeid import coerce_node_id
from _pytest.nodes import Node
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi.checks import RejectedPositiveData

from tests.conftest import ARTIFACTS

# schemathesis 4.32.5's fixture-based loader renames each subtest through `node._nodeid`,
# which pytest 9.2 keeps as `node._id`: give it that name back so the loader runs.
if not hasattr(Node, "_nodeid"):
    Node._nodeid = property(lambda node: str(node._id), lambda node, value: setattr(node, "_id", coerce_node_id(value)))

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))

CONFIG = {
    "seed": 20261201,
    # No generated Authorization header: each case carries a real token (see fuzz_user), which would
    # undo schemathesis's "missing or bad token" mutations; tokens are tested in test_auth.py, and
    # the ignored_auth check still sends each operation without them.
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                   "with-security-parameters": False},
}

ID_KINDS = {
    "product_id": "products", "category_id": "categories", "customer_id": "customers", "cart_id": "carts",
    "sale_id": "sales", "sale_item_id": "sale_items", "user_id": "users", "stock_take_id": "stock_takes",
    "import_id": "imports", "export_id": "exports", "cashier_id": "users",
}


@pytest.fixture
def world(app, client, make_user, auth_headers):
    """A small café's data for the fuzzer to reach, and relaxed request limits while it runs.

    The login and public-order limits count per client address, and every
    case here comes from one; they are tested in their own modules.
    Payment creation answers 202 at once instead of waiting for a worker
    that is not running.
    """
    saved = {key: app.config[key] for key in ("LOGIN_RATE_LIMIT", "PUBLIC_RATE_LIMIT", "PAYMENT_TOKEN_WAIT_SECONDS")}
    app.config.update(LOGIN_RATE_LIMIT="100000 per minute", PUBLIC_RATE_LIMIT="100000 per minute",
                      PAYMENT_TOKEN_WAIT_SECONDS=0)
    manager = auth_headers("admin")
    ids = {kind: [] for kind in ID_KINDS.values()}
    ids["orders"] = []

    def post(path, body, headers=manager):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code in (201, 202), (path, response.get_json())
        return response.get_json()

    category = post("/api/categories", {"name": "Minuman"})
    ids["categories"].append(category["id"])
    for sku, name, price in (("KOPI-SUSU", "Es Kopi Susu", 18_000), ("TEH-MANIS", "Es Teh Manis", 8_000),
                             ("ROTI-BKR", "Roti Bakar Coklat", 15_000)):
        product = post("/api/products", {"sku": sku, "name": name, "price_idr": price, "category_id": category["id"],
                                         "initial_stock": 100_000})
        ids["products"].append(product["id"])
    customer = post("/api/customers", {"name": "Budi Santoso", "phone": "0812-3456-7890"})
    ids["customers"].append(customer["id"])
    sale = post("/api/sales", {"items": [{"product_id": ids["products"][0], "qty": 2}], "customer_id": customer["id"],
                               "payments": [{"method": "cash", "amount_idr": 50_000}]})
    ids["sales"].append(sale["id"])
    ids["sale_items"].extend(item["id"] for item in sale["items"])
    cart = post("/api/carts", {"label": "Meja 4", "items": [{"product_id": ids["products"][1], "qty": 1}]})
    ids["carts"].append(cart["id"])
    order = post("/api/orders", {"customer": {"name": "Sari", "phone": "0813-1111-2222"},
                                 "items": [{"product_id": ids["products"][2], "qty": 1}]}, headers={})
    ids["orders"].append(order["id"])
    take = post("/api/stock-takes", {"counts": [{"product_id": ids["products"][2], "counted": 100_000}]})
    ids["stock_takes"].append(take["id"])
    yield {"ids": ids, "make_user": make_user}
    app.config.update(saved)


# Schema-valid requests that the API refuses with 422 by a business rule the document
# states in words but JSON Schema cannot: a referenced row that does not exist or is not
# sold, one line per product, dates in order, the caller's current password. Only a 422
# whose every error is one of these is accepted from positive data; any other 422
# (a blank name, a pattern the document does not state ...) still fails the run.
BUSINESS_RULES = [re.compile(pattern) for pattern in (
    # a referenced row that does not exist, or is no longer sold
    r"^No (product|customer|category|cart|user|sale line) with id \d+\.$",
    r"^unknown_product_ids$",  # a stock take's counts of products that do not exist
    r" is no longer sold\.$",
    r"^Not on the menu\.$",
    # one line per product (JSON Schema's uniqueItems compares whole items, not one key)
    r"^Each product may be counted once; repeated: ",
    r"^List each product once, with its quantity\.$",
    # dates in order, and a bounded range
    r"^After date_to\.$",
    r"^date_from must not be after date_to\.$",
    r"^More than 366 days after date_from\.$",
    # amounts that depend on prices and totals at the time of the sale
    r"discount \(\d+\) is more than the (line|sale) \(\d+\)\.$",
    r"^The payments \(\d+\) are \d+ short of the total",
    r"^Non-cash payments \(\d+\) exceed the total",
    r"^The order's total is zero; nothing to pay\.$",
    r"^Sale \S+ has no line \d+\.$",
    # the online order cap per product, a setting (ORDER_MAX_QTY)
    r"^At most \d+ of one product per order\.$",
    # an Idempotency-Key sent again with another body (CONTRACT.md section 2); the fuzzer reuses keys
    r"^Used with another request body\.$",
    # the caller's current password (a credential the schema cannot know)
    r"^Wrong password\.$",
    # a phone number's digits: the document states the characters, the country and length rules are told here
    r"^An international number has 8 to 15 digits after the '\+'\.$",
    r"^Not an Indonesian phone number: ",
    r"^An Indonesian number has 8 to 13 digits ",
)]


# A new password's strength (NIST SP 800-63B: a list of known-bad passwords and zxcvbn's estimate),
# which JSON Schema cannot state; its errors are the estimator's reasons, in words.
WEAK_PASSWORD = re.compile(r"^(password|new_password) is too weak: ")
PASSWORD_FIELDS = {"password", "new_password"}


def _broken_business_rules_only(response):
    if response.status_code != 422:
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    errors = body.get("errors") or {}
    if WEAK_PASSWORD.search(body.get("message", "")) and set(errors.get("json", {})) <= PASSWORD_FIELDS:
        return True
    messages = list(_leaves(errors))
    return bool(messages) and all(any(rule.search(message) for rule in BUSINESS_RULES) for message in messages)


def _leaves(errors):
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from [key] if key == "unknown_product_ids" else _leaves(value)
    elif isinstance(errors, list):
        for value in errors:
            yield from _leaves(value)
    else:
        yield str(errors)


@pytest.fixture(params=["admin", "cashier"])
def fuzz_schema(request, app, world):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))

    @schema.hook
    def filter_failure(context, failure, case, response):
        return not (isinstance(failure, RejectedPositiveData) and _broken_business_rules_only(response))

    return schema


fuzzed = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture
def fuzz_user(request, app, world):
    """The role's user for this run, and a way to give each case a working token."""
    from app.auth.tokens import issue_tokens
    from app.extensions import db
    from app.users.models import User

    role = request.node.callspec.params["fuzz_schema"]
    user = world["make_user"](role, username=f"fuzz-{role}")
    world["ids"]["users"].insert(0, user["id"])
    counts = Counter()

    def headers():
        with app.app_context():
            row = db.session.get(User, user["id"])
            row.is_active, row.role = True, role
            db.session.commit()
            token = issue_tokens(row)["access_token"]
        return {"Authorization": f"Bearer {token}"}

    yield {"role": role, "headers": headers, "counts": counts}
    total = sum(counts.values())
    operations = len({label for label, _ in counts})
    summary = {"role": role, "max_examples": MAX_EXAMPLES, "cases": total, "operations": operations,
               "by_status": dict(sorted(Counter(status for (_, status) in counts.elements()).items()))}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"fuzz-{role}.json").write_text(json.dumps(summary, indent=1))
    print(f"\nschemathesis {role}: {total} cases over {operations} operations, statuses {summary['by_status']}")


def _existing(ids, name, value):
    """Small positive ids (1, 2, 3) name rows that exist; anything else is left as generated."""
    kind = ID_KINDS.get(name)
    rows = ids.get(kind) if kind else None
    if rows and isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(rows):
        return rows[value - 1]
    return value


def _with_existing_ids(ids, data):
    if isinstance(data, dict):
        return {key: _with_existing_ids(ids, _existing(ids, key, value)) for key, value in data.items()}
    if isinstance(data, list):
        return [_with_existing_ids(ids, item) for item in data]
    return data


@fuzzed.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_agrees_with_its_openapi_document(case, fuzz_user, world):
    ids = world["ids"]
    if case.path_parameters:
        for name, value in case.path_parameters.items():
            if name == "order_id" and isinstance(value, str) and _is_uuid(value) and int(value[-1], 16) < 8:
                case.path_parameters[name] = ids["orders"][0]  # half of the valid UUIDs name the real order
            else:
                case.path_parameters[name] = _existing(ids, name, value)
    if isinstance(case.body, (dict, list)):
        case.body = _with_existing_ids(ids, case.body)
    if case.query:
        case.query = _with_existing_ids(ids, case.query)
    response = case.call_and_validate(headers=fuzz_user["headers"]())
    fuzz_user["counts"][(case.operation.label, response.status_code)] += 1


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
