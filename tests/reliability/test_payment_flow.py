"""Online payment end to end with the real worker and the Midtrans simulator, and what goes wrong in production.

Each test drives the public API over HTTP (the API server the simulator
notifies), lets the simulator act as Midtrans, and then checks what the
customer and the staff see plus the rows that must, or must not, exist:
attempts, notifications as logged, stock movements, payment events.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.customers.models import Customer
from app.payments.gateway import TransactionState
from app.payments.models import PaymentAttempt
from tests.helpers import wait_for
from tests.payments_support import (  # noqa: F401  (fixtures)
    CUSTOMER_PHONE,
    ApiServer,
    RedisServer,
    Worker,
    admin_headers,
    count,
    midtrans_order_id,
    midtrans_sim,
    payments,
    payments_stack,
    products,
    stack_env,
    stock_of,
)
from simulator.testing import free_port


def _only_online_order_movements(payments, order, products):
    assert sorted(payments.movements(order["id"])) == sorted(
        [(products["nasi"]["id"], -2, "online_order"), (products["teh"]["id"], -3, "online_order")])


def test_happy_path_menu_order_token_payment_webhook_fulfilment(payments, products, client, auth_headers, app):
    menu = payments.get("/api/menu")
    assert menu.status_code == 200
    listed = {p["id"]: p for c in menu.json()["categories"] for p in c["products"]}
    assert listed[products["nasi"]["id"]]["available"] == 10

    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    assert order["status"] == "pending"
    assert order["total_idr"] == 2 * 25_000 + 3 * 5_000
    assert uuid.UUID(order["id"]).version == 4
    _only_online_order_movements(payments, order, products)
    assert stock_of(app, products["nasi"]["id"]) == 8

    created = payments.post(f"/api/payments/{order['id']}/create")
    assert created.status_code in (201, 202), created.text
    payment = payments.start_payment(order["id"]) if created.status_code == 202 else created.json()
    assert payment["status"] == "pending"
    assert payment["snap_token"] and payment["redirect_url"].startswith(payments.sim.url)
    assert payment["amount_idr"] == order["total_idr"]

    again = payments.post(f"/api/payments/{order['id']}/create")
    assert again.status_code == 201
    assert again.json()["snap_token"] == payment["snap_token"]
    assert again.json()["payment_id"] == payment["payment_id"]
    mid = midtrans_order_id(order["id"])
    assert payments.sim.transaction(mid)["token"] == payment["snap_token"]
    assert payments.sim.transaction(midtrans_order_id(order["id"], 2)) is None  # one Snap create only
    assert len(payments.attempts(order["id"])) == 1

    payments.sim.pay(mid, payment_type="bank_transfer", bank="bca")
    payments.wait_order(order["id"], "paid")

    status = payments.order_status(order["id"])
    assert status["payment_status"] == "paid" and status["paid_at"]
    assert payments.get(f"/api/payments/{order['id']}").json()["status"] == "paid"
    every = payments.wait_logs_done(mid, "settlement")
    settlement = next(log for log in every if log.transaction_status == "settlement")
    assert settlement.signature_valid is True
    assert settlement.processing_status == "processed"
    assert '"transaction_status": "settlement"' in settlement.body or '"settlement"' in settlement.body
    assert settlement.headers.get("Content-Type", "").startswith("application/json")
    # The processor asks the status API, so whichever notification is processed first moves it, once.
    assert {log.processing_status for log in every} == {"processed"}
    assert sum("-> paid" in log.outcome for log in every) == 1
    row = payments.order_row(order["id"])
    with payments.db() as session:
        customer = session.get(Customer, row.customer_id)
        assert customer.phone == CUSTOMER_PHONE and customer.purchase_count == 1
        assert customer.total_spent_idr == order["total_idr"]
    _only_online_order_movements(payments, order, products)

    staff = auth_headers("cashier")
    for step in ("preparing", "ready"):
        response = client.patch(f"/api/orders/{order['id']}", json={"status": step}, headers=staff)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == step
    wrong = client.patch(f"/api/orders/{order['id']}", json={"status": "preparing"}, headers=staff)
    assert wrong.status_code == 409
    assert "completed" in wrong.get_json()["message"]
    done = client.patch(f"/api/orders/{order['id']}", json={"status": "completed"}, headers=staff)
    assert done.status_code == 200 and done.get_json()["completed_at"]
    assert payments.order_status(order["id"])["status"] == "completed"
    after = client.patch(f"/api/orders/{order['id']}", json={"status": "ready"}, headers=staff)
    assert after.status_code == 409


def test_a_fulfilment_step_cannot_be_skipped(payments, products, client, auth_headers):
    order = payments.paid_order([(products["teh"]["id"], 1)])
    staff = auth_headers("supervisor")
    skipped = client.patch(f"/api/orders/{order['id']}", json={"status": "completed"}, headers=staff)
    assert skipped.status_code == 409
    assert payments.order_status(order["id"])["status"] == "paid"
