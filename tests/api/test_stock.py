"""Stock as a ledger: adjustments, the movement list, the database's own guards, and the ledger invariant."""

import io
import json
from collections import defaultdict

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.catalog.models import Product
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement
from app.stores.models import default_store
from tests.helpers import assert_error, count_rows, wait_for


def assert_ledger_consistent(app):
    """For every product: its level equals the sum of its movements, and each
    movement's balance_after is the running sum in id order. Returns {product_id: quantity}."""
    with app.app_context():
        running = defaultdict(int)
        for movement in db.session.scalars(select(StockMovement).order_by(StockMovement.id)):
            key = (movement.store_id, movement.product_id)
            running[key] += movement.delta
            assert movement.balance_after == running[key], (
                f"movement {movement.id} of product {movement.product_id}: balance_after {movement.balance_after}, "
                f"running sum {running[key]}"
            )
        levels = {(level.store_id, level.product_id): level.quantity for level in db.session.scalars(select(StockLevel))}
        for product_id in db.session.scalars(select(Product.id)):
            key = (default_store().id, product_id)
            assert levels.get(key, 0) == running.get(key, 0), f"product {product_id}: level {levels.get(key)}, ledger {running.get(key)}"
        assert set(running) <= set(levels), "movements of a product with no stock level"
        return {product_id: quantity for (_, product_id), quantity in levels.items()}


def stock_of(app, product_id):
    with app.app_context():
        return db.session.scalar(select(StockLevel.quantity).where(StockLevel.product_id == product_id))


def movement_count(app, product_id=None):
    with app.app_context():
        return count_rows(StockMovement, *([StockMovement.product_id == product_id] if product_id else []))


@pytest.fixture
def manager(auth_headers):
    return auth_headers("supervisor")


def create_product(client, headers, sku, **fields):
    body = {"sku": sku, "name": f"Produk {sku}", "price_idr": 10_000, **fields}
    response = client.post("/api/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def adjust(client, headers, product_id, delta, **fields):
    return client.post(f"/api/products/{product_id}/stock-adjustments", json={"delta": delta, **fields}, headers=headers)


# --- adjustments ---------------------------------------------------------------


def test_adjustment_returns_the_movement_and_moves_stock(app, client, make_user, login):
    user = make_user("admin")
    headers = {"Authorization": f"Bearer {login(user)['access_token']}"}
    product = create_product(client, headers, "KOPI-1", initial_stock=10)

    response = adjust(client, headers, product["id"], 12, reason="purchase", note=" Kiriman PT Sumber ")

    assert response.status_code == 201
    movement = response.get_json()
    assert (movement["product_id"], movement["delta"], movement["balance_after"], movement["reason"]) == (
        product["id"], 12, 22, "purchase"
    )
    assert movement["note"] == "Kiriman PT Sumber"
    assert movement["user"] == {"id": user["id"], "username": user["username"]}
    # A person's adjustment refers to no other document: who made it is `user`, why is `note`.
    assert movement["reference"] is None
    assert movement["created_at"].endswith("+00:00")
    assert client.get(f"/api/products/{product['id']}", headers=headers).get_json()["stock"] == 22

    removed = adjust(client, headers, product["id"], -22)
    assert removed.status_code == 201
    assert (removed.get_json()["balance_after"], removed.get_json()["reason"]) == (0, "adjustment")
    assert stock_of(app, product["id"]) == 0
    assert_ledger_consistent(app)


def test_adjustment_below_zero_is_409_and_changes_nothing(app, client, manager):
    product = create_product(client, manager, "KOPI-1", initial_stock=3)

    response = adjust(client, manager, product["id"], -4)

    body = assert_error(response, 409)
    [shortage] = body["errors"]["stock"]
    assert (shortage["product_id"], shortage["requested"], shortage["available"]) == (product["id"], 4, 3)
    assert "3 left" in body["message"]
    assert stock_of(app, product["id"]) == 3
    assert movement_count(app) == 1
    assert client.get(f"/api/products/{product['id']}", headers=manager).get_json()["stock"] == 3


def test_first_receipt_of_a_product_with_no_stock_creates_its_level(app, client, manager):
    product = create_product(client, manager, "BARU-1")
    assert_error(adjust(client, manager, product["id"], -1), 409)
    assert stock_of(app, product["id"]) is None
    assert movement_count(app) == 0

    response = adjust(client, manager, product["id"], 5, reason="purchase")

    assert response.status_code == 201
    assert response.get_json()["balance_after"] == 5
    assert stock_of(app, product["id"]) == 5
    assert_ledger_consistent(app)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"delta": 0},
        {"delta": 1.5},
        {"delta": 2.0},
        {"delta": "3"},
        {"delta": None},
        {"delta": True},
        {"delta": 1_000_001},
        {"delta": 1, "reason": "sale"},
        {"delta": 1, "reason": "stock_take"},
        {"delta": 1, "reason": "initial"},
        {"delta": 1, "reason": "gift"},
        {"delta": 1, "note": "n" * 256},
        {"delta": 1, "balance_after": 99},
    ],
    ids=lambda body: json.dumps(body)[:30],
)
def test_bad_adjustment_is_422_and_changes_nothing(app, client, manager, body):
    product = create_product(client, manager, "KOPI-1", initial_stock=5)

    response = client.post(f"/api/products/{product['id']}/stock-adjustments", json=body, headers=manager)

    assert_error(response, 422)
    assert stock_of(app, product["id"]) == 5
    assert movement_count(app) == 1


def test_adjusting_an_unknown_product_is_404(app, client, manager):
    assert_error(adjust(client, manager, 999_999, 5), 404)
    assert movement_count(app) == 0


# --- the movement list ------------------------------------------------------------


def test_movements_newest_first_filtered_and_paginated(app, client, manager, auth_headers):
    cashier = auth_headers("cashier")
    product = create_product(client, manager, "KOPI-1", initial_stock=10)
    other = create_product(client, manager, "TEH-1", initial_stock=1)
    for delta in (5, -3, 2, -1):
        assert adjust(client, manager, product["id"], delta, reason="purchase" if delta > 0 else "adjustment").status_code == 201

    response = client.get(f"/api/products/{product['id']}/stock-movements", headers=cashier)

    assert response.status_code == 200
    movements = response.get_json()
    assert [(m["delta"], m["balance_after"], m["reason"]) for m in movements] == [
        (-1, 13, "adjustment"), (2, 14, "purchase"), (-3, 12, "adjustment"), (5, 15, "purchase"), (10, 10, "initial"),
    ]
    assert all(m["product_id"] == product["id"] for m in movements)
    assert movements[0]["user"]["username"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 5

    purchases = client.get(f"/api/products/{product['id']}/stock-movements?reason=purchase", headers=cashier)
    assert [m["delta"] for m in purchases.get_json()] == [2, 5]
    page = client.get(f"/api/products/{product['id']}/stock-movements?page=2&page_size=2", headers=cashier)
    assert [m["delta"] for m in page.get_json()] == [-3, 5]
    assert_error(client.get(f"/api/products/{product['id']}/stock-movements?reason=theft", headers=cashier), 422)
    assert_error(client.get("/api/products/999999/stock-movements", headers=cashier), 404)
    assert [m["delta"] for m in client.get(f"/api/products/{other['id']}/stock-movements", headers=cashier).get_json()] == [1]


# --- the database's own guards ----------------------------------------------------


def test_database_refuses_negative_stock(app, client, manager):
    product = create_product(client, manager, "KOPI-1", initial_stock=2)

    with app.app_context():
        with pytest.raises(IntegrityError, match="quantity_not_negative"):
            db.session.execute(text("UPDATE stock_levels SET quantity = -1 WHERE product_id = :id"), {"id": product["id"]})
            db.session.commit()
        db.session.rollback()

    assert stock_of(app, product["id"]) == 2


@pytest.mark.parametrize(
    "statement, constraint",
    [
        ("UPDATE stock_movements SET balance_after = -1", "balance_not_negative"),
        ("UPDATE stock_movements SET delta = 0", "delta_not_zero"),
        ("UPDATE stock_movements SET reason = 'theft'", "reason_known"),
        ("UPDATE products SET price_idr = -1", "price_not_negative"),
        ("UPDATE products SET cost_idr = -1", "cost_not_negative"),
    ],
)
def test_database_refuses_impossible_ledger_and_price_values(app, client, manager, statement, constraint):
    create_product(client, manager, "KOPI-1", initial_stock=2)

    with app.app_context():
        with pytest.raises(IntegrityError, match=constraint):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()

    assert_ledger_consistent(app)


# --- the invariant after everything that moves stock ---------------------------------


def test_ledger_holds_after_mixed_operations(app, client, manager, celery_worker):
    kopi = create_product(client, manager, "KOPI-1", initial_stock=20)
    teh = create_product(client, manager, "TEH-1", initial_stock=3)
    roti = create_product(client, manager, "ROTI-1")
    assert adjust(client, manager, kopi["id"], 7, reason="purchase").status_code == 201
    assert adjust(client, manager, kopi["id"], -5).status_code == 201
    assert adjust(client, manager, teh["id"], -3).status_code == 201
    assert adjust(client, manager, roti["id"], 4, reason="purchase").status_code == 201
    assert_error(adjust(client, manager, teh["id"], -1), 409)

    take = client.post(
        "/api/stock-takes",
        json={"counts": [{"product_id": kopi["id"], "counted": 19}, {"product_id": teh["id"], "counted": 2},
                         {"product_id": roti["id"], "counted": 4}]},
        headers=manager,
    )
    assert take.status_code == 202
    wait_for(
        lambda: client.get(f"/api/stock-takes/{take.get_json()['id']}", headers=manager).get_json()["status"] != "pending",
        message="the stock take to be applied",
    )
    csv_file = "sku,name,price_idr,stock\nKOPI-1,Kopi,16000,999\nSUSU-1,Susu,9000,12\nBAD-1,Rusak,-5,3\n"
    upload = client.post(
        "/api/products/imports",
        data={"file": (io.BytesIO(csv_file.encode()), "produk.csv")},
        headers=manager,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 202
    imported = wait_for(
        lambda: (body := client.get(f"/api/products/imports/{upload.get_json()['id']}", headers=manager).get_json())[
            "status"] != "pending" and body,
        message="the import to finish",
    )
    assert_error(adjust(client, manager, kopi["id"], -20), 409)
    assert adjust(client, manager, kopi["id"], -19).status_code == 201

    assert client.get(f"/api/stock-takes/{take.get_json()['id']}", headers=manager).get_json()["status"] == "applied"
    assert (imported["status"], imported["created_count"], imported["updated_count"], imported["error_count"]) == (
        "done", 1, 1, 1
    )
    levels = assert_ledger_consistent(app)
    with app.app_context():
        susu = db.session.scalar(select(Product.id).where(Product.sku == "SUSU-1"))
    # KOPI-1: 20 +7 -5 -> 22, counted 19, -19 -> 0 (the import's stock column only opens new products).
    assert levels == {kopi["id"]: 0, teh["id"]: 2, roti["id"]: 4, susu: 12}
    reasons = {}
    with app.app_context():
        for movement in db.session.scalars(select(StockMovement).order_by(StockMovement.id)):
            reasons.setdefault(movement.product_id, []).append((movement.reason, movement.delta))
    assert reasons == {
        kopi["id"]: [("initial", 20), ("purchase", 7), ("adjustment", -5), ("stock_take", -3), ("adjustment", -19)],
        teh["id"]: [("initial", 3), ("adjustment", -3), ("stock_take", 2)],
        roti["id"]: [("purchase", 4)],
        susu: [("initial", 12)],
    }
