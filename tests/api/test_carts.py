"""Parked carts under /api/carts: park, list, change, drop, resume, and checking one out (once)."""

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inventory.models import StockLevel, StockMovement
from app.sales.models import Cart, Sale
from app.stores.models import Store, default_store
from tests.helpers import assert_error, count_rows


def cart_rows(app):
    """Every cart row as plain values, by id."""
    with app.app_context():
        return {
            cart.id: {
                "store_id": cart.store_id,
                "label": cart.label,
                "content": cart.content,
                "created_by_id": cart.created_by_id,
                "resumed_by_id": cart.resumed_by_id,
                "resumed_at": cart.resumed_at,
                "updated_at": cart.updated_at,
            }
            for cart in db.session.scalars(select(Cart))
        }


def stock_state(app):
    """Units per product and the number of movements: what parking must not touch."""
    with app.app_context():
        levels = {level.product_id: level.quantity for level in db.session.scalars(select(StockLevel))}
        return levels, count_rows(StockMovement)


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


@pytest.fixture
def cashier_user(make_user):
    return make_user("cashier", full_name="Kasir Satu")


@pytest.fixture
def cashier(auth_headers, cashier_user):
    return auth_headers(user=cashier_user)


@pytest.fixture
def products(client, admin):
    """Coffee 15.000 (10 in stock), bread 8.000 (2 in stock)."""
    made = {}
    for sku, price, stock in (("KOPI", 15_000, 10), ("ROTI", 8_000, 2)):
        response = client.post("/api/products", json={"sku": sku, "name": f"Produk {sku}", "price_idr": price,
                                                      "initial_stock": stock}, headers=admin)
        assert response.status_code == 201, response.get_json()
        made[sku] = response.get_json()
    return made


@pytest.fixture
def customer(client, cashier):
    response = client.post("/api/customers", json={"name": "Ibu Baju Merah", "phone": "0812-1111-2222"},
                           headers=cashier)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def park(client, headers, body):
    response = client.post("/api/carts", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def simple_cart(products, label="Meja 1", **fields):
    return {"label": label, "items": [{"product_id": products["KOPI"]["id"], "qty": 2}], **fields}


# --- park and read ---------------------------------------------------------------


def test_park_a_cart_with_discounts_customer_and_note(app, client, cashier, cashier_user, products, customer):
    before = stock_state(app)

    response = client.post(
        "/api/carts",
        json={
            "label": "  Ibu baju merah ",
            "items": [
                {"product_id": products["KOPI"]["id"], "qty": 2, "discount_percent": 12.5},
                {"product_id": products["ROTI"]["id"], "qty": 1, "discount_idr": 1_000},
            ],
            "customer_id": customer["id"],
            "discount_idr": 500,
            "note": "Ambil dompet di mobil",
        },
        headers=cashier,
    )

    assert response.status_code == 201
    cart = response.get_json()
    assert {key: cart[key] for key in ("label", "items", "customer_id", "discount_idr", "discount_percent", "note",
                                       "created_by_id", "resumed_by_id", "resumed_at")} == {
        "label": "Ibu baju merah",
        "items": [
            {"product_id": products["KOPI"]["id"], "qty": 2, "discount_idr": None, "discount_percent": 12.5},
            {"product_id": products["ROTI"]["id"], "qty": 1, "discount_idr": 1_000, "discount_percent": None},
        ],
        "customer_id": customer["id"],
        "discount_idr": 500,
        "discount_percent": None,
        "note": "Ambil dompet di mobil",
        "created_by_id": cashier_user["id"],
        "resumed_by_id": None,
        "resumed_at": None,
    }
    assert cart["created_at"].endswith("+00:00")
    with app.app_context():
        store_id = default_store().id
    row = cart_rows(app)[cart["id"]]
    assert (row["store_id"], row["label"], row["created_by_id"]) == (store_id, "Ibu baju merah", cashier_user["id"])
    assert row["content"]["items"][0]["discount_percent"] == "12.5"  # stored exactly, not as a float
    # Parking reserves nothing: no stock moved, no sale.
    assert stock_state(app) == before
    with app.app_context():
        assert count_rows(Sale) == 0


def test_get_one_and_list_oldest_first_with_paging(client, cashier, auth_headers, products):
    first = park(client, cashier, simple_cart(products, "Pertama"))
    second = park(client, auth_headers("supervisor"), simple_cart(products, "Kedua"))
    third = park(client, cashier, simple_cart(products, "Ketiga"))

    one = client.get(f"/api/carts/{second['id']}", headers=cashier)
    assert one.status_code == 200
    assert one.get_json() == second

    listed = client.get("/api/carts", headers=cashier)
    assert listed.status_code == 200
    assert [cart["id"] for cart in listed.get_json()] == [first["id"], second["id"], third["id"]]
    assert listed.get_json()[0]["items"] == [{"product_id": products["KOPI"]["id"], "qty": 2, "discount_idr": None,
                                              "discount_percent": None}]

    page = client.get("/api/carts", query_string={"page": 2, "page_size": 2}, headers=cashier)
    assert [cart["label"] for cart in page.get_json()] == ["Ketiga"]
    assert json.loads(page.headers["X-Pagination"])["total"] == 3


def test_another_stores_carts_are_not_seen_or_touched(app, client, cashier, cashier_user, products):
    with app.app_context():
        branch = Store(code="cabang-2", name="Cabang 2")
        db.session.add(branch)
        db.session.flush()
        elsewhere = Cart(store_id=branch.id, label="Di cabang", created_by_id=cashier_user["id"],
                         content={"items": [{"product_id": products["KOPI"]["id"], "qty": 1}]})
        db.session.add(elsewhere)
        db.session.commit()
        elsewhere_id = elsewhere.id
    before = cart_rows(app)

    assert client.get("/api/carts", headers=cashier).get_json() == []
    assert_error(client.get(f"/api/carts/{elsewhere_id}", headers=cashier), 404)
    assert_error(client.put(f"/api/carts/{elsewhere_id}", json=simple_cart(products), headers=cashier), 404)
    assert_error(client.post(f"/api/carts/{elsewhere_id}/resume", headers=cashier), 404)
    assert_error(client.delete(f"/api/carts/{elsewhere_id}", headers=cashier), 404)
    assert cart_rows(app) == before


def test_404_for_unknown_carts(client, cashier, products):
    assert_error(client.get("/api/carts/999999", headers=cashier), 404)
    assert_error(client.put("/api/carts/999999", json=simple_cart(products), headers=cashier), 404)
    assert_error(client.delete("/api/carts/999999", headers=cashier), 404)
    assert_error(client.post("/api/carts/999999/resume", headers=cashier), 404)


# --- bad input changes nothing ------------------------------------------------------


def bad_bodies(products):
    kopi = products["KOPI"]["id"]
    line = {"product_id": kopi, "qty": 1}
    return [
        ("label", {"items": [line]}),
        ("label", {"label": "  ", "items": [line]}),
        ("label", {"label": "x" * 81, "items": [line]}),
        ("items", {"label": "A"}),
        ("items", {"label": "A", "items": []}),
        ("items", {"label": "A", "items": [{"product_id": kopi}]}),
        ("items", {"label": "A", "items": [{"product_id": kopi, "qty": 0}]}),
        ("items", {"label": "A", "items": [{"product_id": kopi, "qty": "2"}]}),
        ("items", {"label": "A", "items": [{"product_id": kopi, "qty": 1.5}]}),
        ("items", {"label": "A", "items": [{"product_id": 999_999, "qty": 1}]}),
        ("items", {"label": "A", "items": [{"product_id": kopi, "qty": 1, "discount_idr": 15_001}]}),
        ("items", {"label": "A", "items": [{"product_id": kopi, "qty": 1, "discount_idr": 100, "discount_percent": 5}]}),
        ("items", {"label": "A", "items": [{"product_id": kopi, "qty": 1, "discount_percent": 100.001}]}),
        ("discount_idr", {"label": "A", "items": [line], "discount_idr": 15_001}),
        ("discount_idr", {"label": "A", "items": [line], "discount_idr": -1}),
        ("discount_percent", {"label": "A", "items": [line], "discount_idr": 10, "discount_percent": 1}),
        ("customer_id", {"label": "A", "items": [line], "customer_id": 999_999}),
        ("customer_id", {"label": "A", "items": [line], "customer_id": "1"}),
        ("payments", {"label": "A", "items": [line], "payments": [{"method": "cash", "amount_idr": 15_000}]}),
        ("approval", {"label": "A", "items": [line], "approval": {"username": "spv", "pin": "1234"}}),
        ("cart_id", {"label": "A", "items": [line], "cart_id": 1}),
    ]


def test_bad_carts_are_refused_and_nothing_is_written(app, client, cashier, products):
    before = stock_state(app)
    for field, body in bad_bodies(products):
        error = assert_error(client.post("/api/carts", json=body, headers=cashier), 422)
        assert field in error.get("errors", {}).get("json", {}), (body, error)
    assert cart_rows(app) == {}
    assert stock_state(app) == before


def test_a_product_no_longer_sold_cannot_be_parked(app, client, admin, cashier, products):
    bread = products["ROTI"]["id"]
    assert client.patch(f"/api/products/{bread}", json={"is_active": False}, headers=admin).status_code == 200

    error = assert_error(client.post("/api/carts", json={"label": "A", "items": [{"product_id": bread, "qty": 1}]},
                                     headers=cashier), 422)

    assert error["errors"]["json"]["items"] == {"0": {"product_id": ["Produk ROTI is no longer sold."]}}
    assert cart_rows(app) == {}


def test_bad_replacement_leaves_the_cart_as_it_was(app, client, cashier, products):
    cart = park(client, cashier, simple_cart(products))
    before = cart_rows(app)

    for field, body in bad_bodies(products):
        error = assert_error(client.put(f"/api/carts/{cart['id']}", json=body, headers=cashier), 422)
        assert field in error.get("errors", {}).get("json", {}), (body, error)
    assert cart_rows(app) == before


# --- change, drop -----------------------------------------------------------------------


def test_replace_a_carts_content(app, client, cashier, auth_headers, products, customer):
    cart = park(client, cashier, simple_cart(products, note="Tunggu"))

    response = client.put(
        f"/api/carts/{cart['id']}",
        json={"label": "Meja 1 (tambah)", "items": [{"product_id": products["ROTI"]["id"], "qty": 1}],
              "customer_id": customer["id"], "discount_percent": 10},
        headers=auth_headers("supervisor"),
    )

    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("id", "label", "items", "customer_id", "discount_idr", "discount_percent",
                                       "note", "created_by_id")} == {
        "id": cart["id"], "label": "Meja 1 (tambah)",
        "items": [{"product_id": products["ROTI"]["id"], "qty": 1, "discount_idr": None, "discount_percent": None}],
        "customer_id": customer["id"], "discount_idr": None, "discount_percent": 10.0,
        "note": None,  # replaced, not merged
        "created_by_id": cart["created_by_id"],
    }
    row = cart_rows(app)[cart["id"]]
    assert row["content"] == {"items": [{"product_id": products["ROTI"]["id"], "qty": 1}],
                              "customer_id": customer["id"], "discount_percent": "10"}
    assert row["label"] == "Meja 1 (tambah)"


def test_delete_a_cart(app, client, cashier, products):
    kept = park(client, cashier, simple_cart(products, "Tetap"))
    dropped = park(client, cashier, simple_cart(products, "Pergi"))

    response = client.delete(f"/api/carts/{dropped['id']}", headers=cashier)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert set(cart_rows(app)) == {kept["id"]}
    assert_error(client.get(f"/api/carts/{dropped['id']}", headers=cashier), 404)
    assert_error(client.delete(f"/api/carts/{dropped['id']}", headers=cashier), 404)


# --- resume ---------------------------------------------------------------------------


def test_resume_on_another_till_shows_todays_names_prices_and_stock(app, client, admin, cashier, make_user,
                                                                     auth_headers, products, customer):
    cart = park(client, cashier, {
        "label": "Meja 3",
        "items": [{"product_id": products["KOPI"]["id"], "qty": 2, "discount_percent": 12.5},
                  {"product_id": products["ROTI"]["id"], "qty": 1}],
        "customer_id": customer["id"],
    })
    # Meanwhile the coffee's price changes and a loaf is sold.
    assert client.patch(f"/api/products/{products['KOPI']['id']}", json={"price_idr": 16_000, "name": "Kopi Susu"},
                        headers=admin).status_code == 200
    sold = client.post("/api/sales", json={"items": [{"product_id": products["ROTI"]["id"], "qty": 1}],
                                           "payments": [{"method": "cash", "amount_idr": 8_000}]}, headers=admin)
    assert sold.status_code == 201
    other_till = make_user("cashier")

    response = client.post(f"/api/carts/{cart['id']}/resume", headers=auth_headers(user=other_till))

    assert response.status_code == 200
    body = response.get_json()
    assert body["items"] == [
        {"product_id": products["KOPI"]["id"], "qty": 2, "discount_idr": None, "discount_percent": 12.5,
         "name": "Kopi Susu", "price_idr": 16_000, "stock": 10, "is_active": True},
        {"product_id": products["ROTI"]["id"], "qty": 1, "discount_idr": None, "discount_percent": None,
         "name": "Produk ROTI", "price_idr": 8_000, "stock": 1, "is_active": True},
    ]
    assert body["customer"] == {"id": customer["id"], "name": "Ibu Baju Merah", "phone": "6281211112222"}
    assert body["resumed_by_id"] == other_till["id"]
    assert body["resumed_at"].endswith("+00:00")
    row = cart_rows(app)[cart["id"]]
    assert row["resumed_by_id"] == other_till["id"] and row["resumed_at"] is not None
    # Still parked until checked out: it is listed, and resuming again records the later till.
    assert [c["id"] for c in client.get("/api/carts", headers=cashier).get_json()] == [cart["id"]]
    again = client.post(f"/api/carts/{cart['id']}/resume", headers=cashier).get_json()
    assert again["resumed_by_id"] == cart["created_by_id"]
    assert again["resumed_at"] > body["resumed_at"]


# --- checkout -------------------------------------------------------------------------


def checkout_body(cart, **extra):
    """What the till sends: the resumed cart's content, with tenders and the cart's id."""
    items = [{key: line[key] for key in ("product_id", "qty", "discount_idr", "discount_percent")
              if line.get(key) is not None} for line in cart["items"]]
    body = {"items": items, "cart_id": cart["id"], **extra}
    for key in ("customer_id", "discount_idr", "discount_percent", "note"):
        if cart.get(key) is not None:
            body[key] = cart[key]
    return body


def test_a_cart_is_checked_out_once(app, client, cashier, products, customer):
    cart = park(client, cashier, {
        "label": "Meja 4",
        "items": [{"product_id": products["KOPI"]["id"], "qty": 2, "discount_percent": 5.5}],
        "customer_id": customer["id"],
        "note": "Tanpa gula",
    })
    resumed = client.post(f"/api/carts/{cart['id']}/resume", headers=cashier).get_json()
    body = checkout_body(resumed, payments=[{"method": "cash", "amount_idr": 30_000}])

    first = client.post("/api/sales", json=body, headers=cashier)

    assert first.status_code == 201, first.get_json()
    sale = first.get_json()
    assert (sale["subtotal_idr"], sale["discount_idr"], sale["total_idr"], sale["change_idr"]) == (
        30_000, 1_650, 28_350, 1_650)
    assert sale["customer"]["id"] == customer["id"]
    assert sale["note"] == "Tanpa gula"
    assert cart_rows(app) == {}
    assert_error(client.get(f"/api/carts/{cart['id']}", headers=cashier), 404)
    assert client.get("/api/carts", headers=cashier).get_json() == []

    # The same cart from a second till (or a double tap without an Idempotency-Key): refused, nothing sold.
    second = client.post("/api/sales", json=body, headers=cashier)

    error = assert_error(second, 409)
    assert "cart" in error["message"]
    with app.app_context():
        assert count_rows(Sale) == 1
    assert client.get(f"/api/products/{products['KOPI']['id']}", headers=cashier).get_json()["stock"] == 8
    customer_now = client.get(f"/api/customers/{customer['id']}", headers=cashier).get_json()
    assert (customer_now["purchase_count"], customer_now["total_spent_idr"]) == (1, 28_350)


def test_a_checkout_closes_only_the_cart_this_till_holds(app, client, cashier, make_user, auth_headers, products):
    """Issue 12: a checkout sent with another cashier's cart_id deleted that cashier's parked cart."""
    other = auth_headers(user=make_user("cashier", full_name="Kasir Dua"))
    theirs = park(client, other, simple_cart(products, label="Meja 7"))
    cash = [{"method": "cash", "amount_idr": 30_000}]
    kopi_stock = client.get(f"/api/products/{products['KOPI']['id']}", headers=cashier).get_json()["stock"]

    foreign = client.post("/api/sales", json=checkout_body(theirs, payments=cash), headers=cashier)

    error = assert_error(foreign, 409)
    assert f"Parked cart {theirs['id']} is held by another till" in error["message"]
    assert set(cart_rows(app)) == {theirs["id"]}
    with app.app_context():
        assert count_rows(Sale) == 0
    assert client.get(f"/api/products/{products['KOPI']['id']}", headers=cashier).get_json()["stock"] == kopi_stock

    # Resumed here, this till holds it; resumed again on the other till, that one does.
    client.post(f"/api/carts/{theirs['id']}/resume", headers=cashier)
    client.post(f"/api/carts/{theirs['id']}/resume", headers=other)
    assert_error(client.post("/api/sales", json=checkout_body(theirs, payments=cash), headers=cashier), 409)
    assert set(cart_rows(app)) == {theirs["id"]}
    taken = client.post("/api/sales", json=checkout_body(theirs, payments=cash), headers=other)
    assert taken.status_code == 201, taken.get_json()
    assert cart_rows(app) == {}
    with app.app_context():
        assert count_rows(Sale) == 1


def test_a_parked_cart_reserves_no_stock(app, client, cashier, admin, products):
    bread = products["ROTI"]["id"]  # 2 in stock
    cart = park(client, cashier, {"label": "Roti semua", "items": [{"product_id": bread, "qty": 2}]})
    assert client.get(f"/api/products/{bread}", headers=cashier).get_json()["stock"] == 2

    # Another customer buys both loaves while the cart is parked.
    other = client.post("/api/sales", json={"items": [{"product_id": bread, "qty": 2}],
                                            "payments": [{"method": "cash", "amount_idr": 16_000}]}, headers=admin)
    assert other.status_code == 201, other.get_json()

    late = client.post("/api/sales", json=checkout_body(cart, payments=[{"method": "cash", "amount_idr": 16_000}]),
                       headers=cashier)

    assert_error(late, 409)
    with app.app_context():
        assert count_rows(Sale) == 1
    assert set(cart_rows(app)) == {cart["id"]}  # the failed checkout kept the cart for another try
    resumed = client.post(f"/api/carts/{cart['id']}/resume", headers=cashier).get_json()
    assert [(line["qty"], line["stock"]) for line in resumed["items"]] == [(2, 0)]


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/carts"),
        ("post", "/api/carts"),
        ("get", "/api/carts/{id}"),
        ("put", "/api/carts/{id}"),
        ("delete", "/api/carts/{id}"),
        ("post", "/api/carts/{id}/resume"),
    ],
)
def test_every_cart_endpoint_needs_a_token(app, client, cashier, products, method, path):
    cart = park(client, cashier, simple_cart(products))
    before = cart_rows(app)

    response = getattr(client, method)(path.format(id=cart["id"]), json=simple_cart(products, "Tanpa token"))

    assert_error(response, 401)
    assert cart_rows(app) == before
