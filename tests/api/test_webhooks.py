"""POST /api/webhooks/midtrans: every notification is stored raw before anything else, then verified.

Called over HTTP on the payments API server, as Midtrans (the simulator) calls it.
"""

import json

import pytest

from tests.payments_support import midtrans_order_id, sign, signed_notification


def test_a_bad_signature_is_403_and_stored_as_rejected(payments, products):
    order = payments.place_order([(products["teh"]["id"], 1)])
    payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])
    forged = signed_notification(mid, "settlement", f"{order['total_idr']}.00")
    forged["signature_key"] = forged["signature_key"][:-4] + "0000"

    response = payments.webhook(forged, headers={"Cookie": "session=secret", "User-Agent": "Veritrans"})

    assert response.status_code == 403
    assert response.json()["code"] == 403
    [log] = payments.webhook_logs(mid)
    assert log.signature_valid is False and log.processing_status == "rejected"
    assert json.loads(log.body) == forged
    assert log.headers.get("User-Agent") == "Veritrans" and "Cookie" not in log.headers
    assert log.processed_at is not None
    assert payments.attempts(order["id"])[0].status == "pending"
    assert payments.order_status(order["id"])["status"] == "pending"


def test_a_notification_signed_with_another_key_or_changed_after_signing_is_rejected(payments, products):
    order = payments.place_order([(products["teh"]["id"], 1)])
    mid = midtrans_order_id(order["id"])
    gross = f"{order['total_idr']}.00"
    other_key = signed_notification(mid, "settlement", gross)
    other_key["signature_key"] = sign(mid, "200", gross, server_key="SB-Mid-server-SAMPLE")
    tampered = signed_notification(mid, "settlement", gross)
    tampered["gross_amount"] = "1.00"  # the amount is covered by the signature

    assert payments.webhook(other_key).status_code == 403
    assert payments.webhook(tampered).status_code == 403
    assert [log.processing_status for log in payments.webhook_logs(mid)] == ["rejected", "rejected"]


@pytest.mark.parametrize("raw", [
    "this is not json",
    "[1, 2, 3]",
    json.dumps({"order_id": "x-1", "status_code": "200", "gross_amount": "1000.00"}),  # no signature_key
    json.dumps({"order_id": "x-1", "status_code": 200, "gross_amount": 1000, "signature_key": "ab"}),  # not strings
    "",
])
def test_a_malformed_notification_is_400_and_stored_as_invalid(payments, raw):
    response = payments.webhook(raw=raw)

    assert response.status_code == 400
    assert response.json()["code"] == 400
    [log] = payments.webhook_logs()
    assert log.processing_status == "invalid" and log.body == raw
    assert log.signature_valid is None and log.outcome


def test_a_valid_notification_for_an_unknown_order_is_acknowledged_and_ignored(payments):
    body = signed_notification("f" * 32 + "-1", "settlement", "50000.00")

    response = payments.webhook(body)

    assert response.status_code == 200 and response.json() == {"status": "ok"}
    [log] = payments.wait_logs_done("f" * 32 + "-1")
    assert log.signature_valid is True and log.processing_status == "ignored"
    assert "no payment attempt" in log.outcome


def test_a_notification_is_not_trusted_for_its_status_the_status_api_decides(payments, products):
    """Signed, but saying settlement while Midtrans's status API still says no method was chosen."""
    order = payments.place_order([(products["teh"]["id"], 1)])
    payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])

    response = payments.webhook(signed_notification(mid, "settlement", f"{order['total_idr']}.00"))

    assert response.status_code == 200
    [log] = payments.wait_logs_done(mid)
    assert log.processing_status == "processed" and "no payment method chosen yet" in log.outcome
    assert payments.attempts(order["id"])[0].status == "pending"
    assert payments.order_status(order["id"])["status"] == "pending"


def test_the_webhook_takes_only_post(payments):
    assert payments.get("/api/webhooks/midtrans").status_code == 405
    assert payments.webhook_logs() == []
