"""Paying an online order: Snap tokens made by the worker, what Midtrans is sent, retries, staff cancels.

The simulator plays Midtrans; the API is called over HTTP on the server the
simulator notifies (tests/payments_support.py).
"""

import uuid

import requests

from tests.helpers import wait_for
from tests.payments_support import configure_store, create_product, midtrans_order_id, stock_of


def _release_movements(payments, order_id):
    return sorted(payments.movements(order_id, "order_release"))


# --- starting a payment ----------------------------------------------------------------


def test_payment_create_honours_an_idempotency_key(payments, products, app):
    from app.extensions import db
    from app.idempotency import IdempotencyKey

    order = payments.place_order([(products["teh"]["id"], 1)])
    other = payments.place_order([(products["teh"]["id"], 1)])
    key = {"Idempotency-Key": f"pay-{uuid.uuid4()}"}

    first = payments.post(f"/api/payments/{order['id']}/create", headers=key)
    again = payments.post(f"/api/payments/{order['id']}/create", headers=key)
    elsewhere = payments.post(f"/api/payments/{other['id']}/create", headers=key)

    assert first.status_code in (201, 202), first.text
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["payment_id"] == first.json()["payment_id"]
    # The same key for another order is another request: refused, and nothing started for it.
    assert elsewhere.status_code == 422, elsewhere.text
    assert payments.attempts(other["id"]) == []
    assert len(payments.attempts(order["id"])) == 1
    with app.app_context():
        records = db.session.scalars(db.select(IdempotencyKey).where(IdempotencyKey.key == key["Idempotency-Key"])).all()
        assert [(r.scope, r.resource_id) for r in records] == [("payments.create", str(first.json()["payment_id"]))]


def test_a_paid_or_expired_order_cannot_be_paid_again(payments, products):
    paid = payments.paid_order([(products["teh"]["id"], 1)])
    assert payments.post(f"/api/payments/{paid['id']}/create").status_code == 409

    late = payments.place_order([(products["teh"]["id"], 1)])
    payments.backdate_order(late["id"])
    refused = payments.post(f"/api/payments/{late['id']}/create")
    assert refused.status_code == 409 and refused.json()["message"]
    assert payments.attempts(late["id"]) == []
    assert payments.get(f"/api/payments/{late['id']}").status_code == 404  # no payment started


def test_snap_refusing_the_request_fails_the_attempt_and_the_next_create_is_attempt_two(payments, products):
    order = payments.place_order([(products["nasi"]["id"], 1)])
    payments.sim.faults(snap_error_status=400)

    failed = payments.start_payment(order["id"])
    assert failed["status"] == "failed" and failed["attempt_no"] == 1
    assert "400" in failed["failure_reason"]
    assert payments.order_status(order["id"])["payment_status"] == "failed"

    payments.sim.faults(snap_error_status=None)
    second = payments.start_payment(order["id"])
    assert second["status"] == "pending" and second["attempt_no"] == 2 and second["snap_token"]
    attempts = payments.attempts(order["id"])
    assert [(a.attempt_no, a.status) for a in attempts] == [(1, "failed"), (2, "pending")]
    assert attempts[1].midtrans_order_id == midtrans_order_id(order["id"], 2) != attempts[0].midtrans_order_id
    assert payments.sim.transaction(attempts[1].midtrans_order_id)["token"] == second["snap_token"]
    assert payments.sim.transaction(attempts[0].midtrans_order_id) is None


def test_a_payment_denied_at_midtrans_lets_the_customer_start_attempt_two(payments, products, app):
    order = payments.place_order([(products["nasi"]["id"], 2)])
    payments.start_payment(order["id"])
    first = midtrans_order_id(order["id"])
    payments.sim.fail(first, payment_type="credit_card")  # the bank said no
    wait_for(lambda: payments.attempts(order["id"])[0].status == "failed", timeout=30,
             message="the deny to be applied")
    assert payments.order_status(order["id"])["status"] == "pending"

    second = payments.start_payment(order["id"])
    assert second["attempt_no"] == 2 and second["status"] == "pending"
    payments.sim.pay(midtrans_order_id(order["id"], 2), payment_type="qris")
    payments.wait_order(order["id"], "paid")
    assert _release_movements(payments, order["id"]) == []
    assert stock_of(app, products["nasi"]["id"]) == 8


def test_snap_outages_are_retried_by_the_worker_until_snap_answers(payments, products):
    order = payments.place_order([(products["nasi"]["id"], 1)])
    mid = midtrans_order_id(order["id"])
    payments.sim.faults(snap_error_status=503)

    created = payments.post(f"/api/payments/{order['id']}/create")
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "creating" and created.json()["snap_token"] is None
    assert payments.get(f"/api/payments/{order['id']}").json()["status"] == "creating"
    assert payments.sim.transaction(mid) is None

    payments.sim.faults(snap_error_status=None)
    body = wait_for(lambda: payments._payment_past_creating(order["id"]), timeout=40,
                    message="a retry to reach Snap")
    assert body["status"] == "pending" and body["attempt_no"] == 1 and body["snap_token"]
    assert payments.sim.transaction(mid)["token"] == body["snap_token"]
    assert len(payments.attempts(order["id"])) == 1


# --- what Snap is sent ----------------------------------------------------------------


def _snap_request(payments, order):
    payments.start_payment(order["id"])
    return payments.sim.transaction(midtrans_order_id(order["id"]))["request"]


def test_item_details_add_up_to_the_gross_amount_with_service_charge_and_tax(payments, products, app):
    configure_store(app, tax_rate_bp=1100, service_charge_bp=500, tax_name="PPN")
    order = payments.place_order([(products["nasi"]["id"], 3), (products["teh"]["id"], 1)])
    assert order["service_charge_idr"] > 0 and order["tax_idr"] > 0
    assert order["total_idr"] == order["subtotal_idr"] + order["service_charge_idr"] + order["tax_idr"]

    sent = _snap_request(payments, order)

    items = sent["item_details"]
    assert sent["transaction_details"]["gross_amount"] == order["total_idr"]
    assert sum(item["price"] * item["quantity"] for item in items) == order["total_idr"]
    assert [(item["name"], item["price"], item["quantity"]) for item in items[:2]] == [
        ("Nasi Goreng", 25_000, 3), ("Es Teh", 5_000, 1)]
    named = {item["id"]: item["price"] for item in items}
    assert named["service"] == order["service_charge_idr"] and named["tax"] == order["tax_idr"]


def test_item_details_add_up_with_tax_included_in_prices(payments, products, app):
    configure_store(app, tax_rate_bp=1100, tax_inclusive=True)
    # 5 of 20 teas: one client's unpaid orders hold at most a quarter of the stock (app/orders/holds.py).
    order = payments.place_order([(products["nasi"]["id"], 3), (products["teh"]["id"], 5)])

    sent = _snap_request(payments, order)

    assert sum(i["price"] * i["quantity"] for i in sent["item_details"]) == order["total_idr"] == \
        sent["transaction_details"]["gross_amount"]
    assert "tax" not in {item["id"] for item in sent["item_details"]}


def test_long_product_names_are_cut_to_fifty_characters_for_midtrans(payments, client, admin_headers):
    name = "Nasi Goreng Spesial Kampung dengan Telur Mata Sapi dan Kerupuk Udang"
    product = create_product(client, admin_headers, "LONG-1", price_idr=30_000, stock=5, name=name)
    order = payments.place_order([(product["id"], 1)])

    sent = _snap_request(payments, order)

    assert sent["item_details"][0]["name"] == name[:50]
    assert order["items"][0]["name"] == name  # our own record keeps the whole name


# --- staff cancels ------------------------------------------------------------------------


def _cancel(payments, headers, order_id, **body):
    return payments.patch(f"/api/orders/{order_id}", json={"status": "cancelled", **body}, headers=headers)


def test_cancelling_a_pending_order_releases_its_stock_once_and_closes_it_at_midtrans(
        payments, products, app, admin_headers):
    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    payment = payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])
    payments.sim.choose_method(payment["snap_token"], "bni_va")

    cancelled = _cancel(payments, admin_headers, order["id"], reason="kitchen closed")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancel_reason"] == "kitchen closed"
    assert _release_movements(payments, order["id"]) == sorted(
        [(products["nasi"]["id"], 2, "order_release"), (products["teh"]["id"], 3, "order_release")])
    assert stock_of(app, products["nasi"]["id"]) == 10 and stock_of(app, products["teh"]["id"]) == 20
    assert payments.sim.transaction(mid)["status"]["transaction_status"] in ("expire", "cancel")
    assert requests.post(f"{payments.sim.url}/_sim/transactions/{mid}/pay", json={}, timeout=10).status_code == 409
    assert payments.attempts(order["id"])[0].status in ("expired", "cancelled")

    again = _cancel(payments, admin_headers, order["id"])
    assert again.status_code == 409
    assert payments.post(f"/api/payments/{order['id']}/create").status_code == 409
    assert len(_release_movements(payments, order["id"])) == 2


def test_money_paid_for_an_order_after_staff_cancelled_it_is_recorded_for_a_refund(
        payments, products, app, admin_headers):
    """No method was chosen, so Midtrans cannot expire the Snap page: the customer may still pay on it."""
    order = payments.place_order([(products["nasi"]["id"], 2)])
    payment = payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])

    assert _cancel(payments, admin_headers, order["id"]).status_code == 200
    assert _release_movements(payments, order["id"]) == [(products["nasi"]["id"], 2, "order_release")]

    payments.sim.choose_method(payment["snap_token"], "qris")
    payments.sim.pay(mid)
    payments.wait_logs_done(mid, "settlement")

    assert payments.order_status(order["id"])["status"] == "cancelled"
    late = payments.events(order["id"], "paid_after_close")
    assert [(e.kind, e.amount_idr) for e in late] == [("paid_after_close", order["total_idr"])]
    assert "refund" in late[0].detail
    assert payments.attempts(order["id"])[0].status == "paid"
    assert _release_movements(payments, order["id"]) == [(products["nasi"]["id"], 2, "order_release")]
    assert stock_of(app, products["nasi"]["id"]) == 10


def test_cancelling_a_paid_qris_order_refunds_it_through_midtrans(payments, products, app, admin_headers):
    order = payments.paid_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)], payment_type="qris")
    mid = midtrans_order_id(order["id"])

    cancelled = _cancel(payments, admin_headers, order["id"], reason="out of rice")

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["refunded_idr"] == order["total_idr"]
    assert payments.sim.transaction(mid)["status"]["transaction_status"] == "refund"
    payments.wait_logs_done(mid, "refund")  # the refund's own notification changes nothing more
    [attempt] = payments.attempts(order["id"])
    assert attempt.status == "refunded" and attempt.refunded_idr == order["total_idr"]
    refunds = payments.events(order["id"], "refund")
    assert [(e.kind, e.amount_idr) for e in refunds] == [("refund", order["total_idr"])]
    assert _release_movements(payments, order["id"]) == sorted(
        [(products["nasi"]["id"], 2, "order_release"), (products["teh"]["id"], 3, "order_release")])
    assert stock_of(app, products["nasi"]["id"]) == 10
    assert payments.get(f"/api/payments/{order['id']}").json()["status"] == "refunded"
    assert _cancel(payments, admin_headers, order["id"]).status_code == 409


def test_a_cashier_cannot_cancel_a_paid_order_and_nothing_is_refunded(payments, products, app, auth_headers):
    order = payments.paid_order([(products["nasi"]["id"], 2)], payment_type="qris")
    mid = midtrans_order_id(order["id"])

    refused = _cancel(payments, auth_headers("cashier"), order["id"], reason="customer left")

    assert refused.status_code == 403, refused.text
    assert payments.order_status(order["id"])["status"] == "paid"
    assert payments.sim.transaction(mid)["status"]["transaction_status"] == "settlement"
    [attempt] = payments.attempts(order["id"])
    assert attempt.status == "paid" and attempt.refunded_idr == 0
    assert _release_movements(payments, order["id"]) == []
    assert stock_of(app, products["nasi"]["id"]) == 8


def test_a_paid_bank_transfer_is_not_refundable_by_midtrans_unless_refunded_manually(
        payments, products, app, admin_headers):
    order = payments.paid_order([(products["nasi"]["id"], 2)], payment_type="bank_transfer")

    refused = _cancel(payments, admin_headers, order["id"])

    assert refused.status_code == 409, refused.text
    assert "refund_manually" in refused.json()["message"]
    assert payments.order_status(order["id"])["status"] == "paid"
    assert payments.attempts(order["id"])[0].status == "paid"
    assert _release_movements(payments, order["id"]) == []
    assert payments.events(order["id"]) == []

    manual = _cancel(payments, admin_headers, order["id"], refund_manually=True, reason="refunded by transfer")
    assert manual.status_code == 200, manual.text
    assert manual.json()["status"] == "cancelled"
    assert [(e.kind, e.amount_idr) for e in payments.events(order["id"])] == [("manual_refund", order["total_idr"])]
    assert payments.attempts(order["id"])[0].status == "refunded"
    assert _release_movements(payments, order["id"]) == [(products["nasi"]["id"], 2, "order_release")]
    assert stock_of(app, products["nasi"]["id"]) == 10


def test_the_staff_detail_shows_attempts_notifications_and_events(payments, products, auth_headers):
    order = payments.paid_order([(products["nasi"]["id"], 1)])
    mid = midtrans_order_id(order["id"])
    payments.wait_logs_done(mid, "settlement")
    cashier = auth_headers("cashier")

    detail = payments.get(f"/api/orders/{order['id']}", headers=cashier)

    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "paid" and body["customer_id"]
    assert [(p["attempt_no"], p["midtrans_order_id"], p["status"], p["payment_type"]) for p in body["payments"]] == [
        (1, mid, "paid", "bank_transfer")]
    assert [n["transaction_status"] for n in body["notifications"]] == ["pending", "settlement"]
    assert all(n["signature_valid"] and n["processing_status"] == "processed" for n in body["notifications"])
    assert body["payment_events"] == []
    listed = payments.get("/api/orders", params={"status": "paid"}, headers=cashier).json()
    assert [o["id"] for o in listed] == [order["id"]]
    assert payments.get(f"/api/orders/{order['id']}").status_code == 401
    assert payments.get(f"/api/orders/{uuid.uuid4()}", headers=cashier).status_code == 404
