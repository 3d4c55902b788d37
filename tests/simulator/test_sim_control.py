"""/_sim control API: drive transactions, faults, deliveries and reset."""

import pytest

from tests.simulator.support import wait_until


def post(client, path, **body):
    return client.post(path, json=body)


def test_pay_without_a_method_chooses_bank_transfer_then_settles(
        sim_client, sim_snap, sim_receiver):
    order_id, _ = sim_snap()

    response = post(sim_client, f"/_sim/transactions/{order_id}/pay")

    assert response.status_code == 200
    assert response.json["transaction_status"] == "settlement"
    assert response.json["va_numbers"][0]["bank"] == "bca"
    sim_receiver.wait_for(2)
    assert sim_receiver.statuses() == ["pending", "settlement"]


@pytest.mark.parametrize("payment_type", ["qris", "gopay", "shopeepay", "bank_transfer"])
def test_pay_settles_methods_that_do_not_capture(sim_client, sim_snap, payment_type):
    order_id, _ = sim_snap()
    body = post(sim_client, f"/_sim/transactions/{order_id}/pay", payment_type=payment_type).json
    assert (body["payment_type"], body["transaction_status"]) == (payment_type, "settlement")


def test_card_captures_then_settles(sim_client, sim_snap, sim_receiver):
    order_id, _ = sim_snap()

    captured = post(sim_client, f"/_sim/transactions/{order_id}/pay",
                    payment_type="credit_card").json
    assert (captured["transaction_status"], captured["fraud_status"]) == ("capture", "accept")
    assert captured["masked_card"]

    settled = post(sim_client, f"/_sim/transactions/{order_id}/settle").json
    assert settled["transaction_status"] == "settlement"
    assert "settlement_time" in settled
    sim_receiver.wait_for(3)
    assert sim_receiver.statuses() == ["pending", "capture", "settlement"]


def test_a_challenged_card_cannot_be_settled(sim_client, sim_snap):
    order_id, _ = sim_snap()
    post(sim_client, f"/_sim/transactions/{order_id}/pay",
         payment_type="credit_card", fraud_status="challenge")

    response = post(sim_client, f"/_sim/transactions/{order_id}/settle")

    assert response.status_code == 409
    assert response.json["transaction_status"] == "capture"


def test_settle_is_for_captured_payments_only(sim_client, sim_snap):
    order_id, _ = sim_snap()
    post(sim_client, f"/_sim/transactions/{order_id}/pay", payment_type="qris")
    assert post(sim_client, f"/_sim/transactions/{order_id}/settle").status_code == 409


def test_fail_denies_a_card_and_can_report_failure(sim_client, sim_snap):
    card, _ = sim_snap()
    wallet, _ = sim_snap()

    denied = post(sim_client, f"/_sim/transactions/{card}/fail", payment_type="credit_card").json
    failed = post(sim_client, f"/_sim/transactions/{wallet}/fail", payment_type="gopay",
                  transaction_status="failure").json

    assert (denied["transaction_status"], denied["fraud_status"], denied["status_code"]) == \
        ("deny", "deny", "202")
    assert (failed["transaction_status"], failed["status_code"]) == ("failure", "202")


def test_paying_a_final_transaction_is_409(sim_client, sim_snap):
    order_id, _ = sim_snap()
    post(sim_client, f"/_sim/transactions/{order_id}/fail")
    response = post(sim_client, f"/_sim/transactions/{order_id}/pay")
    assert response.status_code == 409
    assert response.json["transaction_status"] == "deny"


def test_pay_with_another_method_than_chosen_is_400(sim_client, sim_snap):
    order_id, _ = sim_snap()
    token = sim_client.get(f"/_sim/transactions/{order_id}").json["token"]
    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "qris"})
    response = post(sim_client, f"/_sim/transactions/{order_id}/pay", payment_type="gopay")
    assert response.status_code == 400


def test_expire_before_a_method_only_expires_the_page(sim_client, sim_auth, sim_snap,
                                                      sim_receiver):
    order_id, created = sim_snap()

    response = post(sim_client, f"/_sim/transactions/{order_id}/expire")

    assert response.status_code == 200 and response.json["token_expired"] is True
    page = sim_client.get(f"/snap/v4/redirection/{created['token']}")
    assert b"This payment link has expired" in page.data
    assert sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json["status_code"] == "404"
    assert post(sim_client, f"/_sim/transactions/{order_id}/expire").status_code == 409


def test_expire_a_pending_payment(sim_client, sim_snap, sim_receiver):
    order_id, created = sim_snap()
    sim_client.post(f"/snap/v4/redirection/{created['token']}/method", data={"method": "bni_va"})

    body = post(sim_client, f"/_sim/transactions/{order_id}/expire").json

    assert (body["transaction_status"], body["status_code"]) == ("expire", "407")
    sim_receiver.wait_for(2)
    assert sim_receiver.statuses() == ["pending", "expire"]


def test_control_refund_works_for_any_method(sim_client, sim_snap):
    order_id, _ = sim_snap(amount=10000)
    post(sim_client, f"/_sim/transactions/{order_id}/pay")

    partial = post(sim_client, f"/_sim/transactions/{order_id}/refund", amount=2500).json
    rest = post(sim_client, f"/_sim/transactions/{order_id}/refund").json

    assert (partial["transaction_status"], partial["refund_amount"]) == \
        ("partial_refund", "2500.00")
    assert (rest["transaction_status"], rest["refund_amount"]) == ("refund", "10000.00")
    assert post(sim_client, f"/_sim/transactions/{order_id}/refund").status_code == 409


def test_resend_sends_the_latest_notification_again(sim_client, sim_snap, sim_receiver):
    order_id, _ = sim_snap()
    post(sim_client, f"/_sim/transactions/{order_id}/pay")
    sim_receiver.wait_for(2)

    response = post(sim_client, f"/_sim/transactions/{order_id}/resend")

    assert response.status_code == 200
    requests = sim_receiver.wait_for(3)
    assert requests[2]["body"] == requests[1]["body"]
    assert requests[2]["body"]["transaction_status"] == "settlement"


@pytest.mark.parametrize("action", ["pay", "fail", "expire", "settle", "refund", "resend"])
def test_control_actions_on_unknown_orders_are_404(sim_client, action):
    assert post(sim_client, f"/_sim/transactions/nope/{action}").status_code == 404


def test_faults_are_shown_set_validated_and_reset(sim_client):
    defaults = sim_client.get("/_sim/faults").json
    assert defaults == {"snap_latency_ms": 0, "snap_error_status": None, "status_latency_ms": 0,
                        "drop_notifications": False, "duplicate_notifications": 1,
                        "shuffle_notifications": False}

    changed = post(sim_client, "/_sim/faults", snap_latency_ms=50, drop_notifications=True).json
    assert changed["snap_latency_ms"] == 50 and changed["drop_notifications"] is True
    assert sim_client.get("/_sim/faults").json == changed

    bad = post(sim_client, "/_sim/faults", snap_error_status=200, duplicate_notifications=0,
               bogus=1)
    assert bad.status_code == 400
    assert set(bad.json["errors"]) == {"snap_error_status", "duplicate_notifications", "bogus"}

    assert post(sim_client, "/_sim/faults", reset=True).json == defaults
    post(sim_client, "/_sim/faults", shuffle_notifications=True)
    assert sim_client.delete("/_sim/faults").json == defaults


def test_reset_forgets_everything(sim_client, sim_auth, sim_snap, sim_receiver):
    order_id, _ = sim_snap()
    post(sim_client, f"/_sim/transactions/{order_id}/pay")
    sim_receiver.wait_for(2)
    post(sim_client, "/_sim/faults", drop_notifications=True)

    assert post(sim_client, "/_sim/reset").status_code == 200

    assert sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json["status_code"] == "404"
    assert sim_client.get("/_sim/deliveries").json == {"deliveries": [], "queued": []}
    assert sim_client.get("/_sim/faults").json["drop_notifications"] is False
    sim_snap(order_id)  # the id can be used again after a reset


def test_deliveries_filter_by_order_id(sim_client, sim_snap, sim_receiver):
    first, _ = sim_snap()
    second, _ = sim_snap()
    post(sim_client, f"/_sim/transactions/{first}/pay")
    post(sim_client, f"/_sim/transactions/{second}/pay")
    sim_receiver.wait_for(4)

    def deliveries(**query):
        return sim_client.get("/_sim/deliveries", query_string=query).json["deliveries"]

    # A delivery is logged just after the receiver has answered.
    wait_until(lambda: len(deliveries()) == 4)
    rows = deliveries(order_id=first)
    assert {row["order_id"] for row in rows} == {first}
    assert [row["transaction_status"] for row in rows] == ["pending", "settlement"]


def test_a_dispatcher_pass_answers_once_a_later_pass_has_finished(sim_client):
    first = sim_client.post("/_sim/dispatcher/pass")
    second = sim_client.post("/_sim/dispatcher/pass")

    assert first.status_code == second.status_code == 200
    assert second.json["passes"] > first.json["passes"] >= 1
