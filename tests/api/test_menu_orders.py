"""The public menu and placing an online order, as a customer's phone calls them.

Placing an order reserves stock (`online_order` movements); every refusal is
checked to leave no order, no line, no movement and no idempotency key.
"""

import uuid

import pytest

from app.idempotency import IdempotencyKey
from app.inventory.models import StockMovement
from app.orders.models import Order, OrderItem
from app.orders.schemas import MAX_ORDER_LINES
from tests.payments_support import CUSTOMER, count, create_product, stock_of


def order_body(*lines, customer=CUSTOMER, **fields):
    return {"customer": customer, "items": [{"product_id": p, "qty": q} for p, q in lines], **fields}


def assert_nothing_reserved(app, products):
    assert count(app, Order) == 0
    assert count(app, OrderItem) == 0
    assert count(app, StockMovement, StockMovement.reason == "online_order") == 0
    assert count(app, IdempotencyKey) == 0
    assert stock_of(app, products["nasi"]["id"]) == 10 and stock_of(app, products["teh"]["id"]) == 20


def menu_products(response):
    return {p["id"]: p for c in response.get_json()["categories"] for p in c["products"]}


# --- the menu ------------------------------------------------------------------------


def test_the_menu_is_public_and_lists_active_products_with_availability(client, app, products, admin_headers):
    hidden = create_product(client, admin_headers, "OLD-1", price_idr=7_000, stock=5)
    assert client.patch(f"/api/products/{hidden['id']}", json={"is_active": False},
                        headers=admin_headers).status_code == 200
    empty = create_product(client, admin_headers, "EMPTY-1", price_idr=3_000, stock=0)

    response = client.get("/api/menu")

    assert response.status_code == 200
    listed = menu_products(response)
    assert hidden["id"] not in listed
    # 10 on hand: unpaid online orders may hold half (ONLINE_HOLD_MAX_PERCENT), the rest is the counter's.
    assert listed[products["nasi"]["id"]] == {
        "id": products["nasi"]["id"], "sku": "NASI-1", "name": "Nasi Goreng", "description": None,
        "price_idr": 25_000, "available": 5, "is_available": True,
    }
    assert listed[empty["id"]]["available"] == 0 and listed[empty["id"]]["is_available"] is False
    assert response.get_json()["max_qty_per_product"] == app.config["ORDER_MAX_QTY"]


def test_the_menu_answers_304_to_its_etag_until_an_order_changes_availability(client, products):
    first = client.get("/api/menu")
    etag = first.headers["ETag"]
    assert etag and "max-age" in first.headers["Cache-Control"]

    again = client.get("/api/menu", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    # A cache refreshes what it holds from the 304's headers (RFC 9110, 15.4.5).
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == first.headers["Cache-Control"]

    placed = client.post("/api/orders", json=order_body((products["nasi"]["id"], 2)))
    assert placed.status_code == 201

    changed = client.get("/api/menu", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert menu_products(changed)[products["nasi"]["id"]]["available"] == 3  # 5 of 10 online, 2 held


# --- placing an order ---------------------------------------------------------------------


def test_an_order_reserves_its_stock_and_answers_with_an_unguessable_id(client, app, products):
    response = client.post("/api/orders", json=order_body((products["nasi"]["id"], 2), (products["teh"]["id"], 3),
                                                          note="tanpa sambal"))

    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert uuid.UUID(order["id"]).version == 4
    assert order["status"] == "pending" and order["payment_status"] == "none"
    assert order["total_idr"] == order["subtotal_idr"] == 65_000
    assert order["expires_at"] and order["note"] == "tanpa sambal"
    assert [(i["sku"], i["qty"], i["unit_price_idr"], i["line_total_idr"]) for i in order["items"]] == [
        ("NASI-1", 2, 25_000, 50_000), ("TEH-1", 3, 5_000, 15_000)]
    with app.app_context():
        from app.extensions import db

        movements = db.session.query(StockMovement).filter_by(reference=f"order:{order['id']}").all()
        assert sorted((m.product_id, m.delta, m.reason) for m in movements) == sorted(
            [(products["nasi"]["id"], -2, "online_order"), (products["teh"]["id"], -3, "online_order")])
        row = db.session.get(Order, uuid.UUID(order["id"]))
        assert row.customer_phone == "6281234567890" and row.customer_id is None and row.stock_reserved
    assert stock_of(app, products["nasi"]["id"]) == 8 and stock_of(app, products["teh"]["id"]) == 17

    status = client.get(f"/api/orders/{order['id']}/status")
    assert status.status_code == 200
    assert status.get_json() == {"id": order["id"], "status": "pending", "payment_status": "none",
                                      "total_idr": 65_000, "paid_at": None, "expires_at": order["expires_at"]}


@pytest.mark.parametrize("case", ["unknown", "inactive", "over_cap", "zero_qty", "too_many_lines", "duplicate",
                                  "bad_phone", "no_customer", "no_items", "string_qty"])
def test_an_invalid_order_is_422_and_reserves_nothing(client, app, products, admin_headers, case):
    nasi, teh = products["nasi"]["id"], products["teh"]["id"]
    if case == "unknown":
        body = order_body((nasi, 1), (999_999, 1))
    elif case == "inactive":
        client.patch(f"/api/products/{teh}", json={"is_active": False}, headers=admin_headers)
        body = order_body((nasi, 1), (teh, 1))
    elif case == "over_cap":
        body = order_body((nasi, app.config["ORDER_MAX_QTY"] + 1))
    elif case == "zero_qty":
        body = order_body((nasi, 0))
    elif case == "too_many_lines":
        many = [create_product(client, admin_headers, f"X-{n}", stock=5)["id"] for n in range(MAX_ORDER_LINES + 1)]
        body = order_body(*[(product_id, 1) for product_id in many])
    elif case == "duplicate":
        body = order_body((nasi, 1), (teh, 1), (nasi, 2))
    elif case == "bad_phone":
        body = order_body((nasi, 1), customer={"name": "Siti", "phone": "call me maybe"})
    elif case == "no_customer":
        body = {"items": [{"product_id": nasi, "qty": 1}]}
    elif case == "no_items":
        body = order_body()
    else:
        body = {"customer": CUSTOMER, "items": [{"product_id": nasi, "qty": "2"}]}

    response = client.post("/api/orders", json=body)

    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["code"] == 422 and error["message"]
    if case == "too_many_lines":
        assert stock_of(app, many[0]) == 5
        assert count(app, Order) == 0 and count(app, StockMovement, StockMovement.reason == "online_order") == 0
    else:
        assert_nothing_reserved(app, products)


def test_an_order_over_the_stock_is_409_naming_the_product_and_reserves_nothing(client, app, products):
    response = client.post("/api/orders", json=order_body((products["teh"]["id"], 5), (products["nasi"]["id"], 11)))

    assert response.status_code == 409, response.get_json()
    assert "stock" in response.get_json()["errors"]
    assert str(products["nasi"]["id"]) in str(response.get_json()["errors"]["stock"])
    assert_nothing_reserved(app, products)


def test_the_same_idempotency_key_gives_the_same_order_once(client, app, products):
    body = order_body((products["nasi"]["id"], 2))
    headers = {"Idempotency-Key": "order-7f3a"}

    first = client.post("/api/orders", json=body, headers=headers)
    again = client.post("/api/orders", json=body, headers=headers)
    other = client.post("/api/orders", json=order_body((products["nasi"]["id"], 3)), headers=headers)

    assert first.status_code == 201 and again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert other.status_code == 422
    assert count(app, Order) == 1
    assert count(app, StockMovement, StockMovement.reason == "online_order") == 1
    assert stock_of(app, products["nasi"]["id"]) == 8


def test_public_order_endpoints_are_rate_limited_per_address(client, app, products):
    saved = app.config["PUBLIC_RATE_LIMIT"]
    app.config["PUBLIC_RATE_LIMIT"] = "2 per minute"
    try:
        answers = [client.post("/api/orders", json=order_body((products["teh"]["id"], 1))).status_code
                   for _ in range(3)]
    finally:
        app.config["PUBLIC_RATE_LIMIT"] = saved

    assert answers == [201, 201, 429]
    assert count(app, Order) == 2
    assert stock_of(app, products["teh"]["id"]) == 18


@pytest.mark.parametrize("path", ["/api/orders/{id}/status", "/api/payments/{id}", "/api/payments/{id}/create"])
def test_an_unknown_or_garbage_order_id_is_404(client, path):
    method = client.post if path.endswith("/create") else client.get
    for order_id in (str(uuid.uuid4()), "1", "not-a-uuid", "' OR 1=1 --"):
        response = method(path.format(id=order_id))
        assert response.status_code == 404, (order_id, response.get_data(as_text=True))
        assert response.get_json()["code"] == 404


# --- the staff's order screen ---------------------------------------------------------


def test_staff_endpoints_need_a_token_and_any_staff_role_may_read(client, products, auth_headers):
    order = client.post("/api/orders", json=order_body((products["nasi"]["id"], 1))).get_json()

    assert client.get("/api/orders").status_code == 401
    assert client.get(f"/api/orders/{order['id']}").status_code == 401
    assert client.patch(f"/api/orders/{order['id']}", json={"status": "preparing"}).status_code == 401

    cashier = auth_headers("cashier")
    listed = client.get("/api/orders", headers=cashier)
    assert listed.status_code == 200
    assert [o["id"] for o in listed.get_json()] == [order["id"]]
    assert listed.get_json()[0]["customer_phone"] == "6281234567890"
    assert "X-Pagination" in listed.headers
    assert client.get("/api/orders?status=paid", headers=cashier).get_json() == []
    assert len(client.get("/api/orders?q=siti", headers=cashier).get_json()) == 1

    detail = client.get(f"/api/orders/{order['id']}", headers=cashier)
    assert detail.status_code == 200
    assert detail.get_json()["payments"] == [] and detail.get_json()["notifications"] == []
    # A pending order has no fulfilment step yet.
    assert client.patch(f"/api/orders/{order['id']}", json={"status": "preparing"}, headers=cashier).status_code == 409
