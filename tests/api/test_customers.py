"""Customers under /api/customers: phone numbers, search, who may delete, and purchase history from real sales."""

import json
import uuid

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.extensions import db
from app.sales.models import Sale
from tests.helpers import assert_error, count_rows


def customer_rows(app):
    """Every customer row as plain values, by id."""
    with app.app_context():
        return {
            customer.id: {
                "name": customer.name,
                "phone": customer.phone,
                "email": customer.email,
                "note": customer.note,
                "purchase_count": customer.purchase_count,
                "total_spent_idr": customer.total_spent_idr,
                "last_purchase_at": customer.last_purchase_at,
                "updated_at": customer.updated_at,
            }
            for customer in db.session.scalars(select(Customer))
        }


@pytest.fixture
def cashier(auth_headers):
    return auth_headers("cashier")


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


def create_customer(client, headers, name, **fields):
    response = client.post("/api/customers", json={"name": name, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_product(client, admin, sku, price_idr, stock):
    response = client.post(
        "/api/products",
        json={"sku": sku, "name": f"Produk {sku}", "price_idr": price_idr, "initial_stock": stock},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def checkout(client, headers, customer_id, lines, pay_idr):
    response = client.post(
        "/api/sales",
        json={
            "items": [{"product_id": product_id, "qty": qty} for product_id, qty in lines],
            "customer_id": customer_id,
            "payments": [{"method": "cash", "amount_idr": pay_idr}],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def counters(client, headers, customer_id):
    body = client.get(f"/api/customers/{customer_id}", headers=headers).get_json()
    return body["purchase_count"], body["total_spent_idr"], body["last_purchase_at"]


# --- create and read ---------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", "(0812) 3456.7890", "812 3456 7890", "+62 (0)812-3456-7890"],
)
def test_phone_is_stored_as_digits_with_62(app, client, cashier, typed):
    customer = create_customer(client, cashier, "Budi Santoso", phone=typed)

    assert customer["phone"] == "6281234567890"
    assert customer_rows(app)[customer["id"]]["phone"] == "6281234567890"


def test_staff_create_a_customer_with_read_only_totals_at_zero(app, client, cashier):
    response = client.post(
        "/api/customers",
        json={"name": "  Siti Rahayu ", "phone": "0813 1111 2222", "email": " siti@example.co.id ", "note": "Langganan"},
        headers=cashier,
    )

    assert response.status_code == 201
    body = response.get_json()
    assert {key: body[key] for key in (
        "name", "phone", "email", "note", "purchase_count", "total_spent_idr", "last_purchase_at",
    )} == {
        "name": "Siti Rahayu", "phone": "6281311112222", "email": "siti@example.co.id", "note": "Langganan",
        "purchase_count": 0, "total_spent_idr": 0, "last_purchase_at": None,
    }
    assert body["created_at"].endswith("+00:00")
    row = customer_rows(app)[body["id"]]
    assert (row["name"], row["phone"], row["email"]) == ("Siti Rahayu", "6281311112222", "siti@example.co.id")


def test_name_alone_is_enough(client, cashier):
    customer = create_customer(client, cashier, "Pak RT")

    assert (customer["phone"], customer["email"], customer["note"]) == (None, None, None)


def test_get_one_and_404s(client, cashier, admin):
    customer = create_customer(client, cashier, "Dewi", phone="081299990000")

    response = client.get(f"/api/customers/{customer['id']}", headers=cashier)
    assert response.status_code == 200
    assert response.get_json()["phone"] == "6281299990000"

    assert_error(client.get("/api/customers/999999", headers=cashier), 404)
    assert_error(client.patch("/api/customers/999999", json={"name": "X"}, headers=cashier), 404)
    assert_error(client.delete("/api/customers/999999", headers=admin), 404)
    assert_error(client.get("/api/customers/999999/purchases", headers=cashier), 404)


# --- bad input and conflicts change nothing -----------------------------------------------


@pytest.mark.parametrize(
    "field, body",
    [
        ("name", {"phone": "0812-3456-7890"}),
        ("name", {"name": ""}),
        ("name", {"name": "   "}),
        ("name", {"name": "n" * 121}),
        ("name", {"name": 42}),
        ("phone", {"name": "Budi", "phone": "abc"}),
        ("phone", {"name": "Budi", "phone": "0812-abc-7890"}),
        ("phone", {"name": "Budi", "phone": "12"}),
        ("phone", {"name": "Budi", "phone": "+"}),
        ("phone", {"name": "Budi", "phone": "0812345678901234"}),
        ("phone", {"name": "Budi", "phone": "021"}),
        ("phone", {"name": "Budi", "phone": "1234567890"}),
        ("phone", {"name": "Budi", "phone": 81234567890}),
        ("email", {"name": "Budi", "email": "not-an-email"}),
        ("email", {"name": "Budi", "email": "budi@"}),
        ("note", {"name": "Budi", "note": "x" * 501}),
        ("purchase_count", {"name": "Budi", "purchase_count": 5}),
        ("total_spent_idr", {"name": "Budi", "total_spent_idr": 1_000_000}),
        ("last_purchase_at", {"name": "Budi", "last_purchase_at": "2026-01-01T00:00:00+07:00"}),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={str(v)[:14]}" for k, v in value.items()),
)
def test_bad_customer_is_refused_and_nothing_is_written(app, client, cashier, field, body):
    response = client.post("/api/customers", json=body, headers=cashier)

    error = assert_error(response, 422)
    assert field in error.get("errors", {}).get("json", {}), error
    assert customer_rows(app) == {}


def test_a_phone_number_belongs_to_one_customer(app, client, cashier):
    budi = create_customer(client, cashier, "Budi", phone="0812-3456-7890")
    ani = create_customer(client, cashier, "Ani", phone="0813-0000-1111")
    before = customer_rows(app)

    # The same number typed another way is still the same number.
    duplicate = assert_error(client.post("/api/customers", json={"name": "Budi 2", "phone": "+62 812 3456 7890"},
                                         headers=cashier), 409)
    assert duplicate["errors"] == {"json": {"phone": ["Already used by another customer."]}}
    assert "6281234567890" in duplicate["message"]

    taken = assert_error(client.patch(f"/api/customers/{ani['id']}", json={"phone": "6281234567890"}, headers=cashier), 409)
    assert "phone" in taken["errors"]["json"]
    assert customer_rows(app) == before

    # Keeping one's own number is no conflict.
    response = client.patch(f"/api/customers/{budi['id']}", json={"phone": "081234567890", "name": "Budi S."},
                            headers=cashier)
    assert response.status_code == 200
    assert response.get_json()["phone"] == "6281234567890"


# --- change --------------------------------------------------------------------


def test_patch_changes_only_what_is_sent_and_clears_with_null_or_blank(app, client, cashier):
    customer = create_customer(client, cashier, "Rina", phone="0811111111", email="rina@example.com", note="VIP")

    response = client.patch(f"/api/customers/{customer['id']}", json={"phone": "+62 857 1234 5678"}, headers=cashier)
    assert response.status_code == 200
    assert {key: response.get_json()[key] for key in ("name", "phone", "email", "note")} == {
        "name": "Rina", "phone": "6285712345678", "email": "rina@example.com", "note": "VIP",
    }

    response = client.patch(f"/api/customers/{customer['id']}", json={"phone": None, "email": "", "note": ""},
                            headers=cashier)
    assert response.status_code == 200
    row = customer_rows(app)[customer["id"]]
    assert (row["name"], row["phone"], row["email"], row["note"]) == ("Rina", None, None, "")


@pytest.mark.parametrize(
    "changes",
    [{"name": ""}, {"name": None}, {"phone": "garbage"}, {"email": "nope"}, {"purchase_count": 99},
     {"total_spent_idr": 0}, {"id": 5}],
    ids=lambda changes: "-".join(f"{key}={value}" for key, value in changes.items()),
)
def test_bad_patch_changes_nothing(app, client, cashier, changes):
    customer = create_customer(client, cashier, "Joko", phone="0812 7777 8888", email="joko@example.com")
    before = customer_rows(app)

    error = assert_error(client.patch(f"/api/customers/{customer['id']}", json=changes, headers=cashier), 422)

    assert next(iter(changes)) in error.get("errors", {}).get("json", {}), error
    assert customer_rows(app) == before


# --- list and search ---------------------------------------------------------------


def test_search_by_name_or_phone_and_paging(client, cashier):
    names_and_phones = [
        ("Budi Santoso", "0812-3456-7890"),
        ("budiman", "0813-9999-0000"),
        ("Siti Aminah", "+62 857 1234 5678"),
        ("Agus", None),
        ("Wati b_di%", "021-555-1234"),
    ]
    ids = {name: create_customer(client, cashier, name, phone=phone)["id"] for name, phone in names_and_phones}

    def search(q):
        response = client.get("/api/customers", query_string={"q": q}, headers=cashier)
        assert response.status_code == 200, response.get_json()
        return [customer["name"] for customer in response.get_json()]

    assert search("BUDI") == ["Budi Santoso", "budiman"]
    assert search("udi") == ["Budi Santoso", "budiman"]
    assert search("b_di") == ["Wati b_di%"]  # "_" and "%" are letters here, not wildcards
    assert search("%") == ["Wati b_di%"]
    assert search("0812") == ["Budi Santoso"]  # local prefix becomes 62
    assert search("+62 857") == ["Siti Aminah"]
    assert search("3456-789") == ["Budi Santoso"]
    assert search("6221555") == ["Wati b_di%"]
    assert search("0000") == ["budiman"]
    assert search("zzz") == []
    assert search("  ") == ["Agus", "Budi Santoso", "budiman", "Siti Aminah", "Wati b_di%"]

    first = client.get("/api/customers", query_string={"page": 1, "page_size": 2}, headers=cashier)
    assert [c["id"] for c in first.get_json()] == [ids["Agus"], ids["Budi Santoso"]]
    assert json.loads(first.headers["X-Pagination"])["total"] == 5
    third = client.get("/api/customers", query_string={"page": 3, "page_size": 2}, headers=cashier)
    assert [c["name"] for c in third.get_json()] == ["Wati b_di%"]
    assert_error(client.get("/api/customers", query_string={"page_size": 101}, headers=cashier), 422)


# --- delete ----------------------------------------------------------------------


def test_only_admins_and_supervisors_delete_and_only_customers_without_purchases(app, client, auth_headers, cashier):
    one = create_customer(client, cashier, "Satu")
    two = create_customer(client, cashier, "Dua")

    assert_error(client.delete(f"/api/customers/{one['id']}", headers=cashier), 403)
    assert set(customer_rows(app)) == {one["id"], two["id"]}

    response = client.delete(f"/api/customers/{one['id']}", headers=auth_headers("supervisor"))
    assert response.status_code == 204
    assert response.get_data() == b""
    response = client.delete(f"/api/customers/{two['id']}", headers=auth_headers("admin"))
    assert response.status_code == 204
    assert customer_rows(app) == {}
    assert_error(client.get(f"/api/customers/{one['id']}", headers=cashier), 404)


def test_a_customer_with_purchases_cannot_be_deleted_even_once_voided(app, client, admin, cashier):
    product = create_product(client, admin, "KOPI", 15_000, stock=10)
    customer = create_customer(client, cashier, "Pelanggan Setia")
    sale = checkout(client, cashier, customer["id"], [(product["id"], 1)], 20_000)

    error = assert_error(client.delete(f"/api/customers/{customer['id']}", headers=admin), 409)
    assert "purchases" in error["message"]

    # A voided sale still names the customer: their history stays, so do they.
    assert client.post(f"/api/sales/{sale['id']}/void", json={"reason": "Salah input"}, headers=admin).status_code == 200
    assert counters(client, cashier, customer["id"])[:2] == (0, 0)
    assert_error(client.delete(f"/api/customers/{customer['id']}", headers=admin), 409)
    assert set(customer_rows(app)) == {customer["id"]}


# --- purchase history and running totals ----------------------------------------------------


def test_purchase_history_newest_first_with_totals_through_checkout_refund_and_void(app, client, admin, cashier):
    coffee = create_product(client, admin, "KOPI", 15_000, stock=20)
    bread = create_product(client, admin, "ROTI", 8_000, stock=20)
    customer = create_customer(client, cashier, "Budi", phone="0812-3456-7890")
    someone_else = create_customer(client, cashier, "Ani")

    first = checkout(client, cashier, customer["id"], [(coffee["id"], 2)], 30_000)  # 30.000
    count, spent, last_at = counters(client, cashier, customer["id"])
    assert (count, spent) == (1, 30_000)
    assert last_at is not None and last_at.endswith("+00:00")

    second = checkout(client, cashier, customer["id"], [(coffee["id"], 1), (bread["id"], 3)], 50_000)  # 39.000
    checkout(client, cashier, someone_else["id"], [(bread["id"], 1)], 8_000)
    checkout(client, cashier, None, [(bread["id"], 1)], 8_000)
    third = checkout(client, cashier, customer["id"], [(bread["id"], 1)], 10_000)  # 8.000
    assert counters(client, cashier, customer["id"])[:2] == (3, 77_000)

    # Refund 2 of the 3 loaves from the second sale: the money comes off, the purchase still counts.
    bread_line = next(item for item in second["items"] if item["product_id"] == bread["id"])
    refund = client.post(
        f"/api/sales/{second['id']}/refunds",
        json={"items": [{"sale_item_id": bread_line["id"], "qty": 2}], "reason": "Roti basi"},
        headers=admin,
    )
    assert refund.status_code == 201, refund.get_json()
    assert refund.get_json()["amount_idr"] == 16_000
    assert counters(client, cashier, customer["id"])[:2] == (3, 61_000)

    # Voiding the third sale takes the purchase and its money back off.
    void = client.post(f"/api/sales/{third['id']}/void", json={"reason": "Pelanggan batal"}, headers=admin)
    assert void.status_code == 200, void.get_json()
    assert counters(client, cashier, customer["id"])[:2] == (2, 53_000)
    assert counters(client, cashier, someone_else["id"])[:2] == (1, 8_000)

    response = client.get(f"/api/customers/{customer['id']}/purchases", headers=cashier)
    assert response.status_code == 200
    assert [{key: row[key] for key in ("channel", "sale_id", "order_id", "number", "status", "total_idr",
                                       "refunded_idr")} for row in response.get_json()] == [
        {"channel": "pos", "sale_id": third["id"], "order_id": None, "number": third["number"], "status": "voided",
         "total_idr": 8_000, "refunded_idr": 0},
        {"channel": "pos", "sale_id": second["id"], "order_id": None, "number": second["number"],
         "status": "partially_refunded", "total_idr": 39_000, "refunded_idr": 16_000},
        {"channel": "pos", "sale_id": first["id"], "order_id": None, "number": first["number"], "status": "completed",
         "total_idr": 30_000, "refunded_idr": 0},
    ]
    assert [row["created_at"] for row in response.get_json()] == [third["created_at"], second["created_at"],
                                                                   first["created_at"]]
    with app.app_context():
        assert count_rows(Sale, Sale.customer_id == customer["id"]) == 3

    page = client.get(f"/api/customers/{customer['id']}/purchases", query_string={"page": 2, "page_size": 2},
                      headers=cashier)
    assert [row["sale_id"] for row in page.get_json()] == [first["id"]]
    assert json.loads(page.headers["X-Pagination"])["total"] == 3


def test_a_customer_without_purchases_has_an_empty_history(client, cashier):
    customer = create_customer(client, cashier, "Baru")

    response = client.get(f"/api/customers/{customer['id']}/purchases", headers=cashier)

    assert response.status_code == 200
    assert response.get_json() == []


def test_checkout_for_an_unknown_customer_is_refused_and_sells_nothing(app, client, admin, cashier):
    product = create_product(client, admin, "KOPI", 15_000, stock=5)

    response = client.post(
        "/api/sales",
        json={"items": [{"product_id": product["id"], "qty": 1}], "customer_id": 999_999,
              "payments": [{"method": "cash", "amount_idr": 15_000}]},
        headers=cashier,
    )

    assert_error(response, 422)
    with app.app_context():
        assert count_rows(Sale) == 0
    assert client.get(f"/api/products/{product['id']}", headers=cashier).get_json()["stock"] == 5


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/customers"),
        ("post", "/api/customers"),
        ("get", "/api/customers/1"),
        ("patch", "/api/customers/1"),
        ("delete", "/api/customers/1"),
        ("get", "/api/customers/1/purchases"),
    ],
)
def test_every_customer_endpoint_needs_a_token(app, client, method, path):
    response = getattr(client, method)(path, json={"name": "Tanpa Token"} if method in ("post", "patch") else None)

    assert_error(response, 401)
    assert customer_rows(app) == {}


def test_a_bad_token_is_401_not_a_write(app, client):
    response = client.post("/api/customers", json={"name": "Palsu"}, headers={"Authorization": "Bearer not-a-jwt"})

    assert_error(response, 401)
    assert customer_rows(app) == {}


def test_a_paid_online_order_joins_the_history_of_the_customer_with_its_phone(app, client, admin, cashier):
    from app.extensions import db
    from app.models import utcnow
    from app.orders import services as orders

    product = create_product(client, admin, "ONL-1", 20000, 10)
    customer = create_customer(client, cashier, "Rina", phone="0812-3456-7001")
    placed = client.post("/api/orders", json={
        "customer": {"name": "Rina W", "phone": "+62 812 3456 7001"},
        "items": [{"product_id": product["id"], "qty": 2}],
    })
    assert placed.status_code == 201, placed.get_json()
    order_id = placed.get_json()["id"]
    assert client.get(f"/api/customers/{customer['id']}/purchases", headers=cashier).get_json() == []

    with app.app_context():
        order = orders.find_order(uuid.UUID(order_id))
        orders.mark_paid(order, utcnow())
        db.session.commit()

    history = client.get(f"/api/customers/{customer['id']}/purchases", headers=cashier).get_json()
    assert [(p["channel"], p["order_id"], p["sale_id"], p["status"], p["total_idr"]) for p in history] == [
        ("online", order_id, None, "paid", 40000)
    ]
    count, spent, last = counters(client, cashier, customer["id"])
    assert (count, spent) == (1, 40000) and last is not None
    # The order names the customer it was linked to; no second customer was made for the same phone.
    assert customer_rows(app)[customer["id"]]["phone"] == "6281234567001"
    assert len(customer_rows(app)) == 1
    # A customer with an online purchase on record cannot be deleted either.
    assert client.delete(f"/api/customers/{customer['id']}", headers=admin).status_code == 409
