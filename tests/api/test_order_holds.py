"""What unpaid online orders may hold (app/orders/holds.py): a stranger cannot stop the till or the shop.

Issue 12: two unauthenticated orders of 50 units of two products (stock 100
each), never paid, left the menu empty and the till's checkout at 409 for 30
minutes. Now unpaid orders hold at most half of a product's stock together,
one client address a quarter, an address or a phone only a few unpaid orders,
and only for a short while until a payment is started.
"""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.idempotency import IdempotencyKey
from app.inventory.models import StockMovement
from app.models import utcnow
from app.orders.models import Order, OrderItem
from tests.helpers import assert_error, wait_for
from tests.payments_support import count, create_product, midtrans_order_id, stock_of
from tests.reliability.test_stock_concurrency import run_together


def customer(n=0):
    return {"name": f"Pelanggan {n}", "phone": f"0812-0000-{n:04d}"}


def place(client, lines, address="203.0.113.7", who=0, app_client=None):
    """POST /api/orders from `address` as customer number `who`; returns the response."""
    body = {"customer": customer(who), "items": [{"product_id": p, "qty": q} for p, q in lines]}
    return (app_client or client).post("/api/orders", json=body, environ_base={"REMOTE_ADDR": address})


def menu_of(client):
    return {p["id"]: p for c in client.get("/api/menu").get_json()["categories"] for p in c["products"]}


def held_rows(app, product_id):
    """Units reserved by pending orders, and the order rows, read from the database."""
    with app.app_context():
        held = db.session.scalar(
            select(func.coalesce(func.sum(OrderItem.qty), 0)).join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.product_id == product_id, Order.status == "pending", Order.stock_reserved.is_(True)))
        return int(held)


def assert_share_refused(response, index, expected_text):
    error = assert_error(response, 409)
    [message] = error["errors"]["json"]["items"][str(index)]["qty"]
    assert expected_text in message and expected_text in error["message"], error
    return error


@pytest.fixture
def cashier(auth_headers):
    return auth_headers("cashier")


def till_sells(client, headers, product_id, qty, price_idr):
    return client.post("/api/sales", headers=headers, json={
        "items": [{"product_id": product_id, "qty": qty}],
        "payments": [{"method": "cash", "amount_idr": qty * price_idr}]})


# --- the attack from the issue -----------------------------------------------------------------


def test_two_unpaid_orders_of_half_the_stock_no_longer_stop_the_till_or_the_menu(app, client, admin_headers,
                                                                                 cashier):
    a = create_product(client, admin_headers, "A-1", price_idr=10_000, stock=100)
    b = create_product(client, admin_headers, "B-1", price_idr=10_000, stock=100)

    attack = [place(client, [(a["id"], 50), (b["id"], 50)]) for _ in range(2)]

    for response in attack:
        error = assert_share_refused(response, 0, "Only 25 more of Produk A-1 can be ordered from this address")
        assert "Only 25 more of Produk B-1" in error["errors"]["json"]["items"]["1"]["qty"][0]
    assert count(app, Order) == 0 and count(app, OrderItem) == 0 and count(app, IdempotencyKey) == 0
    assert count(app, StockMovement, StockMovement.reason == "online_order") == 0

    sale = till_sells(client, cashier, a["id"], 1, 10_000)
    assert sale.status_code == 201, sale.get_json()
    listed = menu_of(client)
    assert (listed[a["id"]]["available"], listed[a["id"]]["is_available"]) == (49, True)  # half of 99
    assert (listed[b["id"]]["available"], listed[b["id"]]["is_available"]) == (50, True)
    assert stock_of(app, a["id"]) == 99 and stock_of(app, b["id"]) == 100

    # The most this address can hold: its quarter. The till and the menu still sell the rest.
    most = place(client, [(a["id"], 25), (b["id"], 25)])
    assert most.status_code == 201, most.get_json()
    assert_share_refused(place(client, [(a["id"], 1)], who=1), 0, "No more Produk A-1 can be ordered from this address")
    assert held_rows(app, a["id"]) == 25 and held_rows(app, b["id"]) == 25
    assert stock_of(app, a["id"]) == 74 and stock_of(app, b["id"]) == 75
    assert till_sells(client, cashier, b["id"], 1, 10_000).status_code == 201
    listed = menu_of(client)
    assert listed[a["id"]]["available"] == 24 and listed[b["id"]]["available"] == 24  # 49 - 25, 49 - 25
    assert count(app, Order) == 1


# --- the online share and the client's share ---------------------------------------------------


def test_orders_from_many_addresses_together_hold_at_most_the_online_share(app, client, admin_headers, cashier):
    kopi = create_product(client, admin_headers, "KOPI-1", price_idr=8_000, stock=20)  # 10 online, 5 per client
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)

    assert place(client, [(kopi["id"], 5)], address="198.51.100.1", who=1).status_code == 201
    assert place(client, [(kopi["id"], 3)], address="198.51.100.2", who=2).status_code == 201
    over = place(client, [(teh["id"], 2), (kopi["id"], 3)], address="198.51.100.3", who=3)

    assert_share_refused(over, 1, "Only 2 of Produk KOPI-1 can be ordered online now")
    assert "0" not in over.get_json()["errors"]["json"]["items"]  # the tea line was fine
    assert count(app, Order) == 2 and held_rows(app, teh["id"]) == 0 and stock_of(app, teh["id"]) == 100
    assert menu_of(client)[kopi["id"]]["available"] == 2

    assert place(client, [(kopi["id"], 2)], address="198.51.100.3", who=3).status_code == 201
    assert_share_refused(place(client, [(kopi["id"], 1)], address="198.51.100.4", who=4), 0,
                         "Produk KOPI-1 cannot be ordered online now")
    assert held_rows(app, kopi["id"]) == 10 and stock_of(app, kopi["id"]) == 10
    assert (menu_of(client)[kopi["id"]]["available"], menu_of(client)[kopi["id"]]["is_available"]) == (0, False)
    # Everything on the shelf is the counter's to sell.
    assert till_sells(client, cashier, kopi["id"], 10, 8_000).status_code == 201
    assert stock_of(app, kopi["id"]) == 0


def test_one_address_holds_at_most_its_share_and_others_still_can_order(app, client, admin_headers):
    kopi = create_product(client, admin_headers, "KOPI-1", price_idr=8_000, stock=18)  # 9 online, 5 per client

    assert place(client, [(kopi["id"], 3)], who=1).status_code == 201
    assert_share_refused(place(client, [(kopi["id"], 3)], who=2), 0,
                         "Only 2 more of Produk KOPI-1 can be ordered from this address")
    assert place(client, [(kopi["id"], 2)], who=2).status_code == 201
    assert held_rows(app, kopi["id"]) == 5

    other = place(client, [(kopi["id"], 4)], address="192.0.2.44", who=3)
    assert other.status_code == 201, other.get_json()
    with app.app_context():
        addresses = sorted(db.session.scalars(select(Order.client_address)))
    assert addresses == ["192.0.2.44", "203.0.113.7", "203.0.113.7"]


# --- unpaid orders per address and per phone ---------------------------------------------------


def _expire(app, order_id):
    from app.payments.services import expire_order

    with app.app_context():
        db.session.execute(update(Order).where(Order.id == uuid.UUID(order_id))
                           .values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        assert expire_order(order_id) == "expired"


def test_an_address_has_at_most_three_unpaid_orders_until_one_is_paid_or_expires(app, client, admin_headers):
    from tests.reports_support import pay_order

    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)
    placed = [place(client, [(teh["id"], 1)], who=n) for n in range(3)]
    assert [r.status_code for r in placed] == [201, 201, 201]

    refused = place(client, [(teh["id"], 1)], who=3)

    error = assert_error(refused, 429)
    assert "unpaid orders" in error["message"] and "pay" in error["message"].lower()
    assert count(app, Order) == 3 and stock_of(app, teh["id"]) == 97
    # Another address is not affected.
    assert place(client, [(teh["id"], 1)], address="192.0.2.9", who=4).status_code == 201

    pay_order(app, placed[0].get_json()["id"], "qris")
    assert place(client, [(teh["id"], 1)], who=5).status_code == 201
    assert_error(place(client, [(teh["id"], 1)], who=6), 429)
    _expire(app, placed[1].get_json()["id"])
    assert place(client, [(teh["id"], 1)], who=6).status_code == 201
    assert count(app, Order, Order.status == "pending") == 4


def test_a_phone_number_has_at_most_two_unpaid_orders_from_any_address(app, client, admin_headers):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)
    first = place(client, [(teh["id"], 1)], address="192.0.2.1", who=7)
    assert first.status_code == 201
    assert place(client, [(teh["id"], 1)], address="192.0.2.2", who=7).status_code == 201

    # The same number written another way is the same phone.
    body = {"customer": {"name": "Lagi", "phone": "+62 812 0000 0007"}, "items": [{"product_id": teh["id"], "qty": 1}]}
    refused = client.post("/api/orders", json=body, environ_base={"REMOTE_ADDR": "192.0.2.3"})

    assert "phone number" in assert_error(refused, 429)["message"]
    assert count(app, Order) == 2 and stock_of(app, teh["id"]) == 98
    _expire(app, first.get_json()["id"])
    assert client.post("/api/orders", json=body, environ_base={"REMOTE_ADDR": "192.0.2.3"}).status_code == 201


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_orders_from_many_addresses_never_hold_more_than_the_online_share(app, client, admin_headers):
    kopi = create_product(client, admin_headers, "KOPI-1", price_idr=8_000, stock=40)  # 20 online

    answers = run_together(12, lambda n: place(None, [(kopi["id"], 4)], address=f"10.1.0.{n}", who=n,
                                               app_client=app.test_client()).status_code)

    assert sorted(answers) == [201] * 5 + [409] * 7
    assert held_rows(app, kopi["id"]) == 20 and stock_of(app, kopi["id"]) == 20
    assert count(app, StockMovement, StockMovement.reason == "online_order") == 5


def test_concurrent_orders_from_one_address_open_at_most_three_unpaid_orders(app, client, admin_headers):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)

    answers = run_together(8, lambda n: place(None, [(teh["id"], 1)], address="10.2.0.1", who=n,
                                              app_client=app.test_client()).status_code)

    assert sorted(answers) == [201] * 3 + [429] * 5
    assert count(app, Order) == 3 and stock_of(app, teh["id"]) == 97


# --- a short hold until a payment is started ----------------------------------------------------


def _expiry(app, order_id):
    with app.app_context():
        order = db.session.get(Order, uuid.UUID(order_id))
        return order.created_at, order.expires_at


def test_a_new_order_holds_its_stock_for_the_short_hold_only(app, client, admin_headers):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)

    order = place(client, [(teh["id"], 1)]).get_json()

    placed_at, expires_at = _expiry(app, order["id"])
    assert expires_at - placed_at == timedelta(minutes=app.config["ORDER_HOLD_MINUTES"]) == timedelta(minutes=10)


def test_starting_a_payment_extends_the_hold_and_snap_expires_with_it(payments, app, client, admin_headers):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)
    order = payments.place_order([(teh["id"], 1)], customer=customer(1))
    placed_at, short = _expiry(app, order["id"])
    assert short - placed_at == timedelta(minutes=10)

    payment = payments.start_payment(order["id"])

    assert payment["status"] == "pending", payment
    placed_at, extended = _expiry(app, order["id"])
    assert extended - placed_at == timedelta(minutes=30)
    assert datetime.fromisoformat(payments.order_status(order["id"])["expires_at"]) == extended
    [attempt] = payments.attempts(order["id"])
    assert attempt.token_expires_at == extended
    snap = payments.sim.transaction(midtrans_order_id(order["id"]))
    snap_expiry = datetime.strptime(snap["expires_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("Asia/Jakarta"))
    assert extended - timedelta(minutes=2) < snap_expiry <= extended

    # Asking again (the token is live) changes nothing.
    assert payments.post(f"/api/payments/{order['id']}/create").status_code == 201
    assert _expiry(app, order["id"])[1] == extended


def test_starting_a_payment_never_shortens_a_longer_hold(payments, app, client, admin_headers):
    teh = create_product(client, admin_headers, "TEH-1", price_idr=5_000, stock=100)
    order = payments.place_order([(teh["id"], 1)], customer=customer(2))
    with app.app_context():
        row = db.session.get(Order, uuid.UUID(order["id"]))
        row.expires_at = row.created_at + timedelta(minutes=45)
        db.session.commit()

    payments.start_payment(order["id"])

    placed_at, expires_at = _expiry(app, order["id"])
    assert expires_at - placed_at == timedelta(minutes=45)
    wait_for(lambda: payments.attempts(order["id"])[0].token_expires_at == expires_at, message="the token")
