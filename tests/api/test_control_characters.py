"""Control characters are refused where text comes in, naming the field, and nothing is written.

A product once accepted as "Teh\\x0bManis" broke every XLSX export after it,
and NUL in a name or `?q=` got a 422 about "a number out of range". Each
input below is sent with a vertical tab and with a NUL; the answer must be a
422 that names the field, and no table may change.
"""

import pytest
from sqlalchemy import select, text

from app.catalog.models import Category, Product, ProductImport
from app.extensions import db
from tests.api.test_product_imports import import_and_wait, upload
from tests.helpers import assert_error, count_rows

BAD = ["Teh\x0bManis", "Teh\x00Manis"]
TABLES = ("categories", "products", "stock_levels", "stock_movements", "customers", "users", "sales", "sale_items",
          "orders", "order_items", "stores", "product_imports")
CUSTOMER = {"name": "Dewi", "phone": "0812-1111-2222"}


def snapshot(app):
    """Every row of the tables an input could change, as plain tuples."""
    with app.app_context():
        return {table: sorted(map(tuple, db.session.execute(text(f"SELECT * FROM {table}")).all()), key=repr)
                for table in TABLES}


@pytest.fixture
def world(app, client, auth_headers, make_user):
    admin, cashier = auth_headers("admin"), auth_headers("cashier")
    category = client.post("/api/categories", json={"name": "Minuman"}, headers=admin).get_json()
    product = client.post("/api/products", headers=admin, json={
        "sku": "TEH", "name": "Teh", "price_idr": 5_000, "initial_stock": 20, "category_id": category["id"]}).get_json()
    customer = client.post("/api/customers", json=CUSTOMER, headers=cashier).get_json()
    sale = client.post("/api/sales", headers=cashier, json={
        "items": [{"product_id": product["id"], "qty": 1}], "payments": [{"method": "cash", "amount_idr": 5_000}]})
    assert sale.status_code == 201, sale.get_json()
    return {"admin": admin, "cashier": cashier, "category": category["id"], "product": product["id"],
            "customer": customer["id"], "sale": sale.get_json()["id"], "user": make_user("cashier")["id"]}


def line(w):
    return [{"product_id": w["product"], "qty": 1}]


# (who, method, path, body or query given the world and the bad text, where the error is)
CASES = {
    "product name": ("admin", "post", "/api/products",
                     lambda w, bad: {"sku": "BARU", "name": bad, "price_idr": 1_000}, ("json", "name")),
    "product description": ("admin", "post", "/api/products",
                            lambda w, bad: {"sku": "BARU", "name": "Baru", "price_idr": 1, "description": bad},
                            ("json", "description")),
    "product rename": ("admin", "patch", "/api/products/{product}", lambda w, bad: {"name": bad}, ("json", "name")),
    "category name": ("admin", "post", "/api/categories", lambda w, bad: {"name": bad}, ("json", "name")),
    "category rename": ("admin", "patch", "/api/categories/{category}", lambda w, bad: {"name": bad},
                        ("json", "name")),
    "customer name": ("cashier", "post", "/api/customers", lambda w, bad: {"name": bad}, ("json", "name")),
    "customer phone": ("cashier", "post", "/api/customers", lambda w, bad: {"name": "Budi", "phone": "0812" + bad},
                       ("json", "phone")),
    "customer note": ("cashier", "patch", "/api/customers/{customer}", lambda w, bad: {"note": bad},
                      ("json", "note")),
    "user full name": ("admin", "post", "/api/users", lambda w, bad: {
        "username": "budi", "full_name": bad, "role": "cashier", "password": "kopi-susu-gula-aren-2026"},
                       ("json", "full_name")),
    "user username": ("admin", "post", "/api/users", lambda w, bad: {
        "username": "budi" + bad, "full_name": "Budi", "role": "cashier", "password": "kopi-susu-gula-aren-2026"},
                      ("json", "username")),
    "user rename": ("admin", "patch", "/api/users/{user}", lambda w, bad: {"full_name": bad}, ("json", "full_name")),
    "store name": ("admin", "patch", "/api/store", lambda w, bad: {"name": bad}, ("json", "name")),
    "store phone": ("admin", "patch", "/api/store", lambda w, bad: {"phone": bad}, ("json", "phone")),
    "receipt footer": ("admin", "patch", "/api/store", lambda w, bad: {"receipt_footer": bad},
                       ("json", "receipt_footer")),
    "sale note": ("cashier", "post", "/api/sales", lambda w, bad: {
        "items": line(w), "payments": [{"method": "cash", "amount_idr": 5_000}], "note": bad}, ("json", "note")),
    "void reason": ("admin", "post", "/api/sales/{sale}/void", lambda w, bad: {"reason": bad}, ("json", "reason")),
    "stock note": ("admin", "post", "/api/products/{product}/stock-adjustments",
                   lambda w, bad: {"delta": 1, "note": bad}, ("json", "note")),
    "cart label": ("cashier", "post", "/api/carts", lambda w, bad: {"label": bad, "items": line(w)},
                   ("json", "label")),
    "order customer name": (None, "post", "/api/orders", lambda w, bad: {
        "customer": {**CUSTOMER, "name": bad}, "items": line(w)}, ("json", "customer", "name")),
    "order note": (None, "post", "/api/orders", lambda w, bad: {
        "customer": CUSTOMER, "items": line(w), "note": bad}, ("json", "note")),
    "login username": (None, "post", "/api/auth/login", lambda w, bad: {"username": bad, "password": "x"},
                       ("json", "username")),
}
SEARCHES = ["/api/products", "/api/categories", "/api/customers", "/api/users", "/api/orders"]


@pytest.mark.parametrize("bad", BAD, ids=["vertical-tab", "nul"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_control_character_in_a_text_is_422_naming_the_field_and_writes_nothing(app, client, world, case, bad):
    who, method, path, body, where = CASES[case]
    headers = world[who] if who else {}
    before = snapshot(app)

    response = getattr(client, method)(path.format(**world), json=body(world, bad), headers=headers)

    errors = assert_error(response, 422)["errors"]
    for key in where:
        errors = errors[key]
    assert errors[0].startswith("Control characters"), errors
    assert snapshot(app) == before


@pytest.mark.parametrize("bad", ["te\x00h", "te\x0bh", "te\x1bh"])
@pytest.mark.parametrize("path", SEARCHES)
def test_a_control_character_in_a_search_is_422_naming_q(client, auth_headers, path, bad):
    response = client.get(path, query_string={"q": bad}, headers=auth_headers("admin"))

    body = assert_error(response, 422)
    assert body["errors"]["query"]["q"] == ["Control characters are not allowed."]
    assert "out of range" not in body["message"]


@pytest.mark.parametrize("path", ["/api/categories", "/api/customers"])
def test_an_unpaired_surrogate_is_422_not_a_500(app, client, world, path):
    before = snapshot(app)
    response = client.post(path, data='{"name": "Teh\\ud800"}', content_type="application/json",
                           headers=world["admin"])

    body = assert_error(response, 422)
    assert body["errors"]["json"]["name"][0].startswith("Unpaired surrogates"), body
    assert snapshot(app) == before


def test_texts_printed_over_several_lines_keep_line_breaks_and_tabs(app, client, world):
    response = client.patch("/api/store", headers=world["admin"], json={
        "receipt_footer": "Terima kasih\r\nSampai jumpa\tlagi", "address": "Jl. Mawar 1\nBogor"})

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["receipt_footer"], response.get_json()["address"]) == (
        "Terima kasih\nSampai jumpa\tlagi", "Jl. Mawar 1\nBogor")


def test_a_name_keeps_being_trimmed_but_a_line_break_inside_it_is_refused(app, client, world):
    trimmed = client.post("/api/categories", json={"name": "  Makanan\n"}, headers=world["admin"])
    inside = client.post("/api/categories", json={"name": "Makanan\nRingan"}, headers=world["admin"])

    assert trimmed.status_code == 201, trimmed.get_json()
    assert trimmed.get_json()["name"] == "Makanan"
    assert assert_error(inside, 422)["errors"]["json"]["name"] == ["Control characters are not allowed."]


# --- product imports -------------------------------------------------------------------------


def test_an_imported_row_with_control_characters_is_rejected_naming_its_fields(app, client, world, celery_worker):
    content = ("sku,name,price_idr,category\n"
               "OK1,Kopi,1000,Minuman\n"
               "BAD1,Teh\x0bManis,1000,Minuman\n"
               "BAD2,Jahe,1000,Mi\x1bnuman\n")

    status = import_and_wait(app, client, world["admin"], content)

    assert (status["created_count"], status["error_count"]) == (1, 2), status
    assert status["row_errors"] == [
        {"row": 3, "sku": "BAD1", "errors": {"name": ["Control characters are not allowed."]}},
        {"row": 4, "sku": "BAD2", "errors": {"category": ["Control characters are not allowed."]}},
    ]
    with app.app_context():
        assert db.session.scalars(select(Product.sku).order_by(Product.sku)).all() == ["OK1", "TEH"]
        assert db.session.scalars(select(Category.name)).all() == ["Minuman"]


def test_an_import_file_with_nul_is_422_and_nothing_is_stored(app, client, world):
    response = upload(client, world["admin"], "sku,name,price_idr\nA1,Teh\x00Manis,1000\n")

    body = assert_error(response, 422)
    assert "NUL" in body["message"]
    with app.app_context():
        assert count_rows(ProductImport) == 0


# --- what the database still refuses ----------------------------------------------------------


def test_a_value_the_database_refuses_is_422_saying_what_is_wrong(app):
    from sqlalchemy.exc import DataError

    cases = {"SELECT CAST(:v AS text)": ("a\x00b", "NUL"), "SELECT CAST(:v AS integer)": (2**40, "number")}
    for statement, (value, words) in cases.items():
        with app.test_request_context():
            with pytest.raises(DataError) as caught:
                db.session.execute(text(statement), {"v": value})
            response = app.handle_user_exception(caught.value)
        body = assert_error(response, 422)
        assert words in body["message"], body
        if words == "NUL":
            assert "out of range" not in body["message"]
