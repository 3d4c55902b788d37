"""The OpenAPI document is valid and exact: what the API answers is what the document says.

Responses are checked against the document's own schemas (OpenAPI 3.0, so
`nullable` is understood), the way a generated client or a fuzzer reads them.
"""

import json
import re
import uuid

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import select

from app.catalog.models import Category, Product
from app.customers.models import Customer
from app.extensions import db
from app.stores.models import default_store
from app.users.models import User
from tests.helpers import assert_error

OPERATION_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


def conforms(spec, schema, instance):
    """Errors of `instance` against `schema` (which may `$ref` the document's components)."""
    root = {**schema, "components": spec["components"]}
    return [error.message for error in OAS30Validator(root).iter_errors(instance)]


def response_schema(spec, path, method, status=200):
    return spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in OPERATION_METHODS:
                yield path, method, operation


def make_product(client, headers, sku="KOPI-1", price=18_000, stock=20):
    response = client.post("/api/products", json={"sku": sku, "name": f"Kopi {sku}", "price_idr": price,
                                                  "initial_stock": stock}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- the document -------------------------------------------------------------------


def test_the_document_is_valid_openapi(spec):
    validate_spec(spec)  # raises on the first error


def test_range_bounds_are_numbers(spec):
    """Decimal bounds were written as strings ("0", "100"): no client could build a checkout body."""
    percent = spec["components"]["schemas"]["CheckoutIn"]["properties"]["discount_percent"]
    assert (percent["type"], percent["minimum"], percent["maximum"]) == ("number", 0, 100)
    assert spec["components"]["schemas"]["StoreUpdate"]["properties"]["tax_rate_percent"]["maximum"] == 100


def test_every_operation_has_a_unique_usable_operation_id(spec):
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]

    assert all(isinstance(name, str) and name.isidentifier() for name in ids), ids
    assert len(ids) == len(set(ids))
    named = {(method, path): operation["operationId"] for path, method, operation in operations(spec)}
    assert named[("get", "/api/products")] == "listProducts"
    assert named[("post", "/api/sales")] == "createSale"
    assert named[("patch", "/api/customers/{customer_id}")] == "updateCustomer"
    assert named[("post", "/api/auth/login")] == "login"


@pytest.mark.parametrize("path, method", [
    ("/api/auth/login", "post"),
    ("/api/sales", "post"),
    ("/api/orders", "post"),
    ("/api/products", "post"),
    ("/api/products/{product_id}/stock-adjustments", "post"),
])
def test_main_requests_have_an_example_that_fits_their_schema(spec, path, method):
    body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]

    assert "example" in body
    assert conforms(spec, body["schema"], body["example"]) == []


def test_ids_in_paths_state_their_range(spec):
    product_id = spec["paths"]["/api/products/{product_id}"]["parameters"][0]["schema"]
    sale_id = spec["paths"]["/api/sales/{sale_id}"]["parameters"][0]["schema"]

    assert product_id == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert sale_id == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def test_patch_bodies_declare_that_they_need_a_field(spec):
    for path, method, operation in operations(spec):
        if method == "patch":
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            assert schema.get("minProperties") == 1 or schema.get("required"), path


# --- responses agree with it ------------------------------------------------------------


def test_store_settings_answer_percents_as_numbers(client, spec, admin):
    changed = client.patch("/api/store", json={"tax_rate_percent": 11, "service_charge_percent": 5.5}, headers=admin)
    shown = client.get("/api/store", headers=admin)

    try:
        assert changed.status_code == 200, changed.get_json()
        body = shown.get_json()
        assert (body["tax_rate_percent"], body["service_charge_percent"], body["cashier_discount_limit_percent"]) \
            == (11.0, 5.5, 10.0)
        assert conforms(spec, response_schema(spec, "/api/store", "get"), body) == []
    finally:
        client.patch("/api/store", json={"tax_rate_percent": 0, "service_charge_percent": 0}, headers=admin)


def test_a_percent_as_a_string_is_refused_as_the_document_says(app, client, admin):
    response = client.patch("/api/store", json={"tax_rate_percent": "11"}, headers=admin)

    body = assert_error(response, 422)
    assert "tax_rate_percent" in body["errors"]["json"]
    with app.app_context():
        assert default_store().tax_rate_bp == 0


def test_purchases_of_every_channel_match_the_document(app, client, spec, admin, auth_headers):
    from app.models import utcnow
    from app.orders import services as orders

    cashier = auth_headers("cashier")
    product = make_product(client, admin)
    customer = client.post("/api/customers", json={"name": "Rina", "phone": "0812-3456-7001"}, headers=cashier)
    sale = client.post("/api/sales", json={"items": [{"product_id": product["id"], "qty": 1}], "customer_id":
                                          customer.get_json()["id"], "payments": [{"method": "cash", "amount_idr": 20_000}]},
                       headers=cashier)
    placed = client.post("/api/orders", json={"customer": {"name": "Rina", "phone": "081234567001"},
                                              "items": [{"product_id": product["id"], "qty": 2}]})
    assert (sale.status_code, placed.status_code) == (201, 201)
    with app.app_context():
        orders.mark_paid(orders.find_order(uuid.UUID(placed.get_json()["id"])), utcnow())
        db.session.commit()

    response = client.get(f"/api/customers/{customer.get_json()['id']}/purchases", headers=cashier)

    assert sorted(purchase["channel"] for purchase in response.get_json()) == ["online", "pos"]
    assert conforms(spec, response_schema(spec, "/api/customers/{customer_id}/purchases", "get"),
                    response.get_json()) == []


def test_the_pagination_header_matches_the_document(client, spec, admin):
    for sku in ("A-1", "A-2", "A-3"):
        make_product(client, admin, sku=sku)

    response = client.get("/api/products?page=2&page_size=2", headers=admin)

    header = spec["paths"]["/api/products"]["get"]["responses"]["200"]["headers"]["X-Pagination"]
    declared = spec["components"]["headers"][header["$ref"].rsplit("/", 1)[-1]]
    metadata = json.loads(response.headers["X-Pagination"])
    assert metadata == {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1}
    assert conforms(spec, declared["content"]["application/json"]["schema"], metadata) == []


# --- ids beyond a column's range, empty PATCH ------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("get", "/api/products/99999999999"),
    ("patch", "/api/products/2147483648"),
    ("get", "/api/customers/99999999999/purchases"),
    ("post", "/api/products/99999999999/stock-adjustments"),
    ("get", "/api/sales/9223372036854775808"),
    ("get", "/api/sales/99999999999999999999999/receipt"),
    ("delete", "/api/carts/99999999999"),
    ("get", "/api/users/0"),
])
def test_an_id_beyond_its_column_is_a_missing_resource(client, admin, method, path):
    response = getattr(client, method)(path, json={"name": "x", "delta": 1}, headers=admin)

    assert_error(response, 404)


def test_an_id_within_range_that_names_no_row_is_still_404(client, admin):
    assert_error(client.get("/api/sales/99999999999", headers=admin), 404)  # a BIGINT id: in range
    assert_error(client.get("/api/products/2147483647", headers=admin), 404)


@pytest.mark.parametrize("kind", ["product", "category", "customer", "user", "store"])
def test_a_patch_that_changes_nothing_is_refused(app, client, admin, make_user, kind):
    product = make_product(client, admin)
    category = client.post("/api/categories", json={"name": "Minuman"}, headers=admin).get_json()
    customer = client.post("/api/customers", json={"name": "Budi"}, headers=admin).get_json()
    user = make_user("cashier")
    path = {"product": f"/api/products/{product['id']}", "category": f"/api/categories/{category['id']}",
            "customer": f"/api/customers/{customer['id']}", "user": f"/api/users/{user['id']}",
            "store": "/api/store"}[kind]
    with app.app_context():
        before = _rows()

    response = client.patch(path, json={}, headers=admin)

    body = assert_error(response, 422)
    assert body["errors"]["json"]["_schema"] == ["Nothing to change: send at least one field."]
    with app.app_context():
        assert _rows() == before


def _rows():
    """What a PATCH could change, including the updated_at stamps."""
    store = default_store()
    return {
        "products": [(p.name, p.updated_at) for p in db.session.scalars(select(Product))],
        "categories": [(c.name, c.updated_at) for c in db.session.scalars(select(Category))],
        "customers": [(c.name, c.updated_at) for c in db.session.scalars(select(Customer))],
        "users": [(u.full_name, u.role, u.is_active) for u in db.session.scalars(select(User))],
        "store": (store.name, store.tax_rate_bp, store.updated_at),
    }


# --- what schemathesis found: the document and the validation disagreed -----------------------


def test_booleans_in_bodies_are_json_booleans(app, client, admin, make_user):
    """`is_active: 0` was read as false and deactivated the user; the document says boolean."""
    user = make_user("cashier")

    response = client.patch(f"/api/users/{user['id']}", json={"is_active": 0}, headers=admin)

    body = assert_error(response, 422)
    assert "is_active" in body["errors"]["json"]
    with app.app_context():
        assert db.session.get(User, user["id"]).is_active is True


def test_a_blank_full_name_is_refused_when_creating_a_user(app, client, admin):
    response = client.post("/api/users", json={"username": "sari", "full_name": "   ", "role": "cashier",
                                               "password": "kopi-susu-gula-aren"}, headers=admin)

    body = assert_error(response, 422)
    assert body["errors"]["json"]["full_name"] == ["Must not be blank."]
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "sari")).first() is None


def test_the_document_states_the_rules_it_used_to_leave_out(spec):
    schemas = spec["components"]["schemas"]
    # Names that must not be blank say so (they refuse "" and "   "), and so do control characters.
    for name_field in (schemas["CategoryIn"]["properties"]["name"], schemas["UserCreate"]["properties"]["full_name"]):
        pattern = re.compile(name_field["pattern"])
        assert pattern.search("Kopi Susu") and pattern.search("  Kopi  ")
        assert not any(pattern.search(bad) for bad in ("", "   ", "Teh\x0bManis", "a\x00", "\x85"))
    assert "pattern" in schemas["UserCreate"]["properties"]["username"]
    # A discount is an amount or a percent, not both.
    assert schemas["CheckoutIn"]["not"] == {"required": ["discount_idr", "discount_percent"]}
    assert schemas["CheckoutItemIn"]["not"] == {"required": ["discount_idr", "discount_percent"]}
    # The Midtrans notification has a body, though it is read raw.
    body = spec["paths"]["/api/webhooks/midtrans"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["required"] == [
        "order_id", "status_code", "gross_amount", "signature_key"]


def test_a_notification_signed_with_non_ascii_text_is_refused_not_a_500(app, client):
    from app.payments.models import WebhookLog

    response = client.post("/api/webhooks/midtrans", json={
        "order_id": "x-1", "status_code": "200", "gross_amount": "10000.00", "signature_key": "é" * 128})

    assert_error(response, 403)
    with app.app_context():
        logs = db.session.scalars(select(WebhookLog)).all()
        assert [(log.signature_valid, log.processing_status) for log in logs] == [(False, "rejected")]


def test_an_email_is_checked_and_blank_means_none(app, client, admin):
    bad = client.post("/api/customers", json={"name": "Rina", "email": "rina@"}, headers=admin)
    blank = client.post("/api/customers", json={"name": "Sari", "email": "  "}, headers=admin)

    assert assert_error(bad, 422)["errors"]["json"]["email"] == ["Not a valid email address."]
    assert blank.status_code == 201 and blank.get_json()["email"] is None
    with app.app_context():
        assert [c.name for c in db.session.scalars(select(Customer))] == ["Sari"]


def test_an_order_line_without_a_product_is_a_422_not_a_500(app, client):
    from app.orders.models import Order

    response = client.post("/api/orders", json={"customer": {"name": "Budi", "phone": "0812-3456-7890"},
                                                "items": [{"qty": 1}]})

    body = assert_error(response, 422)
    assert body["errors"]["json"]["items"]["0"]["product_id"] == ["Missing data for required field."]
    with app.app_context():
        assert db.session.scalars(select(Order)).all() == []


def test_a_stock_adjustment_of_zero_is_refused_by_the_document_too(spec):
    delta = spec["components"]["schemas"]["AdjustmentIn"]["properties"]["delta"]
    assert delta["not"] == {"enum": [0]}


def test_a_repeated_product_next_to_a_bad_line_is_a_422_not_a_500(app, client, admin):
    from app.orders.models import Order

    product = make_product(client, admin)
    line = {"product_id": product["id"], "qty": 1}

    response = client.post("/api/orders", json={"customer": {"name": "Budi", "phone": "0812-3456-7890"},
                                                "items": [line, 0, line]})

    body = assert_error(response, 422)
    assert body["errors"]["json"]["items"] == {"1": {"_schema": ["Invalid input type."]}}
    with app.app_context():
        assert db.session.scalars(select(Order)).all() == []


def test_reports_on_the_first_day_of_the_calendar_answer_not_500(client, admin):
    for path in ("/api/reports/sales", "/api/reports/best-sellers"):
        response = client.get(f"{path}?date_from=0001-01-01&date_to=0001-01-01", headers=admin)
        assert response.status_code == 200, (path, response.get_json())


def test_a_page_beyond_any_offset_is_empty_not_out_of_range(client, admin):
    response = client.get(f"/api/stock-takes?page={10**23}&page_size=100", headers=admin)

    assert response.status_code == 200 and response.get_json() == []


def test_ids_in_bodies_are_bounded_by_their_column(app, client, admin, spec):
    response = client.post("/api/products", json={"sku": "K-1", "name": "Kopi", "price_idr": 1, "category_id": -53},
                           headers=admin)

    assert "category_id" in assert_error(response, 422)["errors"]["json"]
    with app.app_context():
        assert db.session.scalars(select(Product)).all() == []
    category_id = spec["components"]["schemas"]["ProductIn"]["properties"]["category_id"]
    assert (category_id["minimum"], category_id["maximum"]) == (1, 2**31 - 1)
    key = next(p for p in spec["paths"]["/api/sales"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["pattern"] == "^[ -~]+$"


@pytest.mark.parametrize("path", ["/api/products", "/api/reports/best-sellers?date_from=2026-01-01&date_to=2026-01-31"])
def test_a_category_filter_beyond_its_column_is_a_clear_422(client, admin, path):
    separator = "&" if "?" in path else "?"

    response = client.get(f"{path}{separator}category_id=-3224421062020341694464", headers=admin)

    assert "category_id" in assert_error(response, 422)["errors"]["query"]
