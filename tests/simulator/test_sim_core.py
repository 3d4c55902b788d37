"""Core API: status, cancel, expire, refund, approve and deny, as Midtrans answers them."""

import base64
import hashlib
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.simulator.support import SERVER_KEY, settled_deliveries

JAKARTA = timezone(timedelta(hours=7))


def status(client, auth, order_id):
    response = client.get(f"/v2/{order_id}/status", headers=auth)
    assert response.status_code == 200
    return response.json


def pay(client, order_id, **body):
    response = client.post(f"/_sim/transactions/{order_id}/pay", json=body)
    assert response.status_code == 200, response.json
    return response.json


def expected_signature(order_id, status_code, gross_amount):
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{SERVER_KEY}".encode()).hexdigest()


def test_status_says_404_in_a_200_until_a_method_is_chosen(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()

    body = status(sim_client, sim_auth, order_id)

    assert body["status_code"] == "404"
    assert body["status_message"] == "Transaction doesn't exist."


def test_status_of_an_unknown_order_is_the_same_404_body(sim_client, sim_auth):
    body = status(sim_client, sim_auth, "never-created")
    assert body["status_code"] == "404"
    assert body["status_message"] == "Transaction doesn't exist."


def test_core_api_needs_the_server_key(sim_client, sim_snap):
    order_id, _ = sim_snap()
    wrong = {"Authorization": "Basic " + base64.b64encode(b"nope:").decode()}

    for method, path in (("get", "status"), ("post", "cancel"), ("post", "refund")):
        response = getattr(sim_client, method)(f"/v2/{order_id}/{path}", headers=wrong)
        assert response.status_code == 401
        assert response.json["status_code"] == "401"


def test_status_after_a_bank_transfer_is_paid_is_the_full_midtrans_body(
        sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap(amount=10000)
    pay(sim_client, order_id, payment_type="bank_transfer", bank="bni")

    body = status(sim_client, sim_auth, order_id)

    assert body["status_code"] == "200"
    assert body["status_message"] == "Success, transaction is found"
    assert body["transaction_status"] == "settlement"
    assert body["fraud_status"] == "accept"
    assert body["payment_type"] == "bank_transfer"
    assert body["gross_amount"] == "10000.00"
    assert body["currency"] == "IDR"
    assert body["order_id"] == order_id
    assert body["merchant_id"]
    assert uuid.UUID(body["transaction_id"])
    for field in ("transaction_time", "settlement_time", "expiry_time"):
        datetime.strptime(body[field], "%Y-%m-%d %H:%M:%S")
    [va] = body["va_numbers"]
    assert va["bank"] == "bni" and len(va["va_number"]) == 16 and va["va_number"].isdigit()
    assert body["signature_key"] == expected_signature(order_id, "200", "10000.00")


def test_status_can_be_asked_by_transaction_id(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()
    paid = pay(sim_client, order_id)

    body = status(sim_client, sim_auth, paid["transaction_id"])

    assert body["order_id"] == order_id


def test_permata_uses_permata_va_number(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()
    sim_client.post(f"/snap/v4/redirection/{sim_snap_token(sim_client, order_id)}/method",
                    data={"method": "permata_va"})

    body = status(sim_client, sim_auth, order_id)

    assert body["transaction_status"] == "pending" and body["status_code"] == "201"
    assert len(body["permata_va_number"]) == 18 and "va_numbers" not in body


def sim_snap_token(client, order_id):
    return client.get(f"/_sim/transactions/{order_id}").json["token"]


def test_cancel_a_pending_transaction(sim_client, sim_auth, sim_snap, sim_receiver):
    order_id, _ = sim_snap()
    sim_client.post(f"/snap/v4/redirection/{sim_snap_token(sim_client, order_id)}/method",
                    data={"method": "gopay"})

    response = sim_client.post(f"/v2/{order_id}/cancel", headers=sim_auth)

    assert response.status_code == 200
    assert response.json["status_code"] == "200"
    assert response.json["status_message"] == "Success, transaction is canceled"
    assert response.json["transaction_status"] == "cancel"
    assert status(sim_client, sim_auth, order_id)["transaction_status"] == "cancel"
    sim_receiver.wait_for(2)
    assert sim_receiver.statuses() == ["pending", "cancel"]


def test_cancel_a_captured_card_payment(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()
    pay(sim_client, order_id, payment_type="credit_card")

    response = sim_client.post(f"/v2/{order_id}/cancel", headers=sim_auth)

    assert response.json["transaction_status"] == "cancel"


@pytest.mark.parametrize("action", ["cancel", "expire"])
def test_a_settled_transaction_cannot_be_cancelled_or_expired(
        sim_client, sim_auth, sim_snap, action):
    order_id, _ = sim_snap()
    pay(sim_client, order_id)

    response = sim_client.post(f"/v2/{order_id}/{action}", headers=sim_auth)

    assert response.status_code == 412
    assert response.json["status_code"] == "412"
    assert response.json["status_message"] == \
        "Merchant cannot modify the status of the transaction"
    assert status(sim_client, sim_auth, order_id)["transaction_status"] == "settlement"


@pytest.mark.parametrize("action", ["cancel", "expire", "refund"])
def test_actions_on_an_unknown_or_unchosen_order_are_404(sim_client, sim_auth, sim_snap, action):
    order_id, _ = sim_snap()
    for target in (order_id, "never-created"):
        response = sim_client.post(f"/v2/{target}/{action}", headers=sim_auth, json={})
        assert response.status_code == 404
        assert response.json["status_code"] == "404"


def test_expire_a_pending_transaction(sim_client, sim_auth, sim_snap, sim_receiver):
    order_id, _ = sim_snap()
    sim_client.post(f"/snap/v4/redirection/{sim_snap_token(sim_client, order_id)}/method",
                    data={"method": "bri_va"})

    response = sim_client.post(f"/v2/{order_id}/expire", headers=sim_auth)

    assert response.status_code == 200
    assert response.json["status_code"] == "407"
    assert response.json["transaction_status"] == "expire"
    body = status(sim_client, sim_auth, order_id)
    assert (body["status_code"], body["transaction_status"]) == ("407", "expire")
    assert body["signature_key"] == expected_signature(order_id, "407", "10000.00")
    requests = sim_receiver.wait_for(2)
    expired = requests[1]["body"]
    # The notification says 202 where the status API says 407.
    assert (expired["transaction_status"], expired["status_code"]) == ("expire", "202")
    assert expired["signature_key"] == expected_signature(order_id, "202", "10000.00")


def test_a_pending_payment_expires_by_itself_when_its_time_is_up(
        sim_client, sim_auth, sim_snap, sim_receiver):
    # Due three seconds from now: time enough to see it pending on a busy machine.
    start = datetime.now(JAKARTA) - timedelta(seconds=57)
    order_id, _ = sim_snap(expiry={"start_time": start.strftime("%Y-%m-%d %H:%M:%S %z"),
                                   "unit": "minute", "duration": 1})
    sim_client.post(f"/snap/v4/redirection/{sim_snap_token(sim_client, order_id)}/method",
                    data={"method": "bca_va"})
    assert status(sim_client, sim_auth, order_id)["transaction_status"] == "pending"

    # The dispatcher's sweep expires it and notifies, without a status call.
    sim_receiver.wait_for(2, timeout=10)
    assert sim_receiver.statuses() == ["pending", "expire"]
    assert status(sim_client, sim_auth, order_id)["transaction_status"] == "expire"


def refund(client, auth, order_id, **body):
    return client.post(f"/v2/{order_id}/refund", headers=auth, json=body)


def test_partial_then_total_refund(sim_client, sim_auth, sim_snap, sim_receiver):
    order_id, _ = sim_snap(amount=10000)
    pay(sim_client, order_id, payment_type="qris")

    first = refund(sim_client, sim_auth, order_id, refund_key="r-1", amount=4000, reason="one cup")
    assert first.status_code == 200
    assert first.json["status_code"] == "200"
    assert first.json["status_message"] == "Success, refund request is approved"
    assert first.json["transaction_status"] == "partial_refund"
    assert first.json["refund_amount"] == "4000.00"
    assert first.json["refund_key"] == "r-1"

    second = refund(sim_client, sim_auth, order_id, refund_key="r-2", amount=6000)
    assert second.json["transaction_status"] == "refund"
    assert second.json["refund_chargeback_id"] != first.json["refund_chargeback_id"]

    body = status(sim_client, sim_auth, order_id)
    assert body["transaction_status"] == "refund"
    assert body["refund_amount"] == "10000.00"
    assert [r["refund_key"] for r in body["refunds"]] == ["r-1", "r-2"]
    sim_receiver.wait_for(4)
    assert sim_receiver.statuses() == ["pending", "settlement", "partial_refund", "refund"]


def test_refund_without_amount_refunds_the_rest(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap(amount=10000)
    pay(sim_client, order_id, payment_type="gopay")

    response = refund(sim_client, sim_auth, order_id, refund_key="all")

    assert response.json["transaction_status"] == "refund"
    assert response.json["refund_amount"] == "10000.00"


def test_refund_key_is_idempotent(sim_client, sim_auth, sim_snap, sim_receiver):
    order_id, _ = sim_snap(amount=10000)
    pay(sim_client, order_id, payment_type="shopeepay")

    first = refund(sim_client, sim_auth, order_id, refund_key="same", amount=3000)
    again = refund(sim_client, sim_auth, order_id, refund_key="same", amount=3000)

    assert again.status_code == 200
    assert again.json["refund_chargeback_id"] == first.json["refund_chargeback_id"]
    assert status(sim_client, sim_auth, order_id)["refund_amount"] == "3000.00"
    written = sim_client.get("/_sim/notifications", query_string={"order_id": order_id}).json
    assert [n["body"]["transaction_status"] for n in written["notifications"]] == \
        ["pending", "settlement", "partial_refund"]
    settled_deliveries(sim_client, order_id)
    assert sim_receiver.statuses().count("partial_refund") == 1


@pytest.mark.parametrize("setup, body", [
    ("pending", {"amount": 1000}),      # not settled yet
    ("bank_transfer", {"amount": 1000}),  # a VA payment is not refundable by API
    ("qris", {"amount": 10001}),        # more than was paid
])
def test_refunds_the_state_does_not_allow_are_412(sim_client, sim_auth, sim_snap, setup, body):
    order_id, _ = sim_snap(amount=10000)
    if setup == "pending":
        sim_client.post(f"/snap/v4/redirection/{sim_snap_token(sim_client, order_id)}/method",
                        data={"method": "qris"})
    else:
        pay(sim_client, order_id, payment_type=setup)

    response = refund(sim_client, sim_auth, order_id, refund_key="k", **body)

    assert response.status_code == 412
    assert response.json["status_code"] == "412"
    assert "refunds" not in status(sim_client, sim_auth, order_id)


def test_refund_amount_must_be_positive_whole_rupiah(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()
    pay(sim_client, order_id, payment_type="qris")
    for amount in (0, -1, 10.5, "abc"):
        response = refund(sim_client, sim_auth, order_id, refund_key="k", amount=amount)
        assert response.status_code == 400
        assert response.json["status_code"] == "400"


def test_challenged_card_payment_can_be_approved_or_denied(sim_client, sim_auth, sim_snap):
    approved, _ = sim_snap()
    denied, _ = sim_snap()
    for order_id in (approved, denied):
        body = pay(sim_client, order_id, payment_type="credit_card", fraud_status="challenge")
        assert (body["transaction_status"], body["fraud_status"], body["status_code"]) == \
            ("capture", "challenge", "201")

    sim_client.post(f"/v2/{approved}/approve", headers=sim_auth)
    sim_client.post(f"/v2/{denied}/deny", headers=sim_auth)

    body = status(sim_client, sim_auth, approved)
    assert (body["transaction_status"], body["fraud_status"], body["status_code"]) == \
        ("capture", "accept", "200")
    body = status(sim_client, sim_auth, denied)
    assert (body["transaction_status"], body["fraud_status"]) == ("deny", "deny")
    assert sim_client.post(f"/v2/{approved}/approve", headers=sim_auth).status_code == 412


def test_status_latency_fault(sim_client, sim_auth):
    sim_client.post("/_sim/faults", json={"status_latency_ms": 200})
    started = time.monotonic()
    status(sim_client, sim_auth, "anything")
    assert time.monotonic() - started >= 0.2


def test_state_is_kept_in_the_sqlite_file(sim_config, sim_snap, sim_client):
    from simulator import create_app

    order_id, _ = sim_snap()
    pay(sim_client, order_id)

    other = create_app(sim_config)  # another process would open the same file
    try:
        shown = other.test_client().get(f"/_sim/transactions/{order_id}").json
        assert shown["status"]["transaction_status"] == "settlement"
    finally:
        other.extensions["simulator"].close()
