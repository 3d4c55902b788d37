"""Notifications: Midtrans's body and signature, retries on its schedule, faults."""

import hashlib
import json
import logging
import os
import re
from pathlib import Path

import pytest

from simulator.notifications import RETRY_DELAYS_MINUTES, sign
from tests.simulator.support import RETRY_SCALE, SERVER_KEY, Receiver, settled_deliveries, wait_until

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "midtrans-samples"


def pay(client, order_id, **body):
    response = client.post(f"/_sim/transactions/{order_id}/pay", json=body)
    assert response.status_code == 200, response.json
    return response.json


def deliveries(client, order_id):
    return client.get("/_sim/deliveries", query_string={"order_id": order_id}).json


def test_sign_is_sha512_of_the_four_strings():
    expected = hashlib.sha512(b"order-1" + b"200" + b"10000.00" + b"key").hexdigest()
    assert sign("order-1", "200", "10000.00", "key") == expected


def sample_files():
    if not SAMPLES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"signed samples missing at {SAMPLES}")
        pytest.skip(f"signed samples not found at {SAMPLES}")
    return sorted(SAMPLES.glob("*.json"))


def test_sign_reproduces_the_signed_midtrans_samples():
    files = sample_files()
    readme = (SAMPLES / "README.md").read_text()
    server_key = re.search(r"server key\s+`([^`]+)`", readme).group(1)
    assert files
    for path in files:
        sample = json.loads(path.read_text())
        computed = sign(sample["order_id"], sample["status_code"], sample["gross_amount"],
                        server_key)
        assert computed == sample["signature_key"], path.name


def test_notifications_are_signed_midtrans_bodies(sim_client, sim_snap, sim_receiver):
    order_id, _ = sim_snap(amount=10000)
    pay(sim_client, order_id, payment_type="bank_transfer", bank="bca")

    pending, settlement = (request for request in sim_receiver.wait_for(2))

    assert pending["headers"]["Content-Type"] == "application/json"
    for request, status_code, status in ((pending, "201", "pending"),
                                         (settlement, "200", "settlement")):
        body = request["body"]
        assert body["order_id"] == order_id
        assert body["transaction_status"] == status
        assert body["status_code"] == status_code
        assert body["gross_amount"] == "10000.00"
        assert body["currency"] == "IDR"
        assert body["payment_type"] == "bank_transfer"
        assert body["fraud_status"] == "accept"
        assert body["va_numbers"][0]["bank"] == "bca"
        for field in ("transaction_time", "transaction_id", "status_message", "merchant_id"):
            assert body[field]
        independent = hashlib.sha512(
            (order_id + status_code + "10000.00" + SERVER_KEY).encode()).hexdigest()
        assert body["signature_key"] == independent
    assert "settlement_time" not in pending["body"]
    assert "settlement_time" in settlement["body"]
    assert pending["body"]["transaction_id"] == settlement["body"]["transaction_id"]


def test_override_replaces_and_append_adds_notification_urls(sim_client, sim_snap, sim_receiver):
    other = Receiver().start()
    try:
        overridden, _ = sim_snap(headers={"X-Override-Notification": other.url})
        appended, _ = sim_snap(headers={"X-Append-Notification": other.url})
        pay(sim_client, overridden)
        pay(sim_client, appended)

        sent = settled_deliveries(sim_client, overridden) + settled_deliveries(sim_client, appended)
        assert {(row["order_id"], row["url"]) for row in sent} == {
            (overridden, other.url), (appended, other.url), (appended, sim_receiver.url)}
        assert sorted({r["body"]["order_id"] for r in other.requests}) == \
            sorted([overridden, appended])
        assert {r["body"]["order_id"] for r in sim_receiver.requests} == {appended}
    finally:
        other.stop()


def test_without_any_url_nothing_is_sent_but_the_notification_is_kept(
        sim_config, sim_receiver):
    from simulator import create_app

    app = create_app({**sim_config, "NOTIFICATION_URL": None})
    try:
        client = app.test_client()
        created = client.post("/snap/v1/transactions", json={"transaction_details": {
            "order_id": "quiet-1", "gross_amount": 5000}}, headers=_auth())
        assert created.status_code == 201
        pay(client, "quiet-1")
        kept = client.get("/_sim/notifications", query_string={"order_id": "quiet-1"}).json
        assert [n["body"]["transaction_status"] for n in kept["notifications"]] == \
            ["pending", "settlement"]
        # Written with no outbox row: nothing was or ever will be sent.
        assert client.get("/_sim/deliveries", query_string={"order_id": "quiet-1"}).json == \
            {"deliveries": [], "queued": []}
        assert sim_receiver.requests == []
    finally:
        app.extensions["simulator"].close()


def _auth():
    import base64
    return {"Authorization": "Basic " + base64.b64encode(f"{SERVER_KEY}:".encode()).decode()}


def scaled(minutes):
    return minutes * 60 * RETRY_SCALE


def test_failed_notifications_are_retried_on_the_scaled_midtrans_schedule(
        sim_client, sim_snap, sim_receiver, sim_config):
    order_id, _ = sim_snap()
    token = sim_client.get(f"/_sim/transactions/{order_id}").json["token"]
    sim_receiver.answer(500, 503, 502, then=200)

    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "qris"})

    requests = sim_receiver.wait_for(4)
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(requests, requests[1:])]
    for gap, minutes in zip(gaps, RETRY_DELAYS_MINUTES):
        assert gap >= scaled(minutes) * 0.95, (gaps, minutes)
    assert gaps == sorted(gaps)
    assert [r["answered"] for r in requests] == [500, 503, 502, 200]
    rows = settled_deliveries(sim_client, order_id)
    assert [row["attempt"] for row in rows] == [1, 2, 3, 4]
    assert [row["http_status"] for row in rows] == [500, 503, 502, 200]
    assert [row["outcome"] for row in rows] == ["failed"] * 3 + ["delivered"]
    assert len({row["delivery_id"] for row in rows}) == 1
    assert all(row["next_attempt_at"] for row in rows[:3]) and rows[3]["next_attempt_at"] is None
    for row in rows:
        assert row["url"] == sim_config["NOTIFICATION_URL"]
        assert row["transaction_status"] == "pending"
        assert row["duration_ms"] is not None and row["started_at"] and row["finished_at"]
    assert len(sim_receiver.requests) == 4


def fail_forever_and_count(sim_client, sim_snap, sim_receiver, status, expected):
    order_id, _ = sim_snap()
    token = sim_client.get(f"/_sim/transactions/{order_id}").json["token"]
    sim_receiver.answer(then=status)
    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "gopay"})

    rows = settled_deliveries(sim_client, order_id, timeout=10)
    assert len(sim_receiver.requests) == expected
    assert [row["attempt"] for row in rows] == list(range(1, expected + 1))
    assert rows[-1]["next_attempt_at"] is None
    return rows


def test_5xx_is_retried_five_times_then_given_up(sim_client, sim_snap, sim_receiver):
    fail_forever_and_count(sim_client, sim_snap, sim_receiver, 500, 6)


def test_4xx_is_retried_only_twice(sim_client, sim_snap, sim_receiver):
    fail_forever_and_count(sim_client, sim_snap, sim_receiver, 404, 3)


def test_3xx_is_not_retried_nor_followed(sim_client, sim_snap, sim_receiver):
    rows = fail_forever_and_count(sim_client, sim_snap, sim_receiver, 302, 1)
    assert rows[0]["http_status"] == 302
    assert all(request["path"] == "/webhook" for request in sim_receiver.requests)


def test_a_timeout_counts_as_a_failure(sim_client, sim_snap, sim_receiver, sim_config):
    order_id, _ = sim_snap()
    token = sim_client.get(f"/_sim/transactions/{order_id}").json["token"]
    sim_receiver.answer(("sleep", sim_config["NOTIFY_TIMEOUT"] + 0.5, 200), then=200)

    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "gopay"})

    sim_receiver.wait_for(2, timeout=5)
    rows = wait_until(lambda: len(deliveries(sim_client, order_id)["deliveries"]) == 2
                      and deliveries(sim_client, order_id)["deliveries"])
    assert rows[0]["outcome"] == "failed" and rows[0]["http_status"] is None
    assert "timeout" in rows[0]["error"]
    assert rows[0]["duration_ms"] >= sim_config["NOTIFY_TIMEOUT"] * 1000 * 0.9
    assert (rows[1]["outcome"], rows[1]["http_status"]) == ("delivered", 200)


def test_drop_fault_sends_nothing_but_logs_the_drop(sim_client, sim_snap, sim_receiver):
    sim_client.post("/_sim/faults", json={"drop_notifications": True})
    order_id, _ = sim_snap()

    pay(sim_client, order_id)

    rows = settled_deliveries(sim_client, order_id)
    assert sim_receiver.requests == []
    assert [(row["transaction_status"], row["outcome"]) for row in rows] == \
        [("pending", "dropped"), ("settlement", "dropped")]


def test_duplicate_fault_sends_concurrent_copies(sim_client, sim_snap, sim_receiver):
    sim_client.post("/_sim/faults", json={"duplicate_notifications": 3})
    order_id, _ = sim_snap()
    token = sim_client.get(f"/_sim/transactions/{order_id}").json["token"]
    slow_answer = ("sleep", 0.3, 200)
    sim_receiver.answer(slow_answer, slow_answer, slow_answer, then=200)

    sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "qris"})

    copies = sim_receiver.wait_for(3)
    assert len({json.dumps(r["body"], sort_keys=True) for r in copies}) == 1
    # Each answer takes 0.3 s; all three arrived before the first was answered.
    assert max(r["at"] for r in copies) - min(r["at"] for r in copies) < 0.25
    rows = wait_until(lambda: len(deliveries(sim_client, order_id)["deliveries"]) == 3
                      and deliveries(sim_client, order_id)["deliveries"])
    assert sorted(row["copy"] for row in rows) == [1, 2, 3]
    assert len({row["delivery_id"] for row in rows}) == 3


def test_shuffle_fault_delivers_an_older_pending_after_the_settlement(
        sim_client, sim_snap, sim_receiver):
    sim_client.post("/_sim/faults", json={"shuffle_notifications": True})
    order_id, _ = sim_snap()

    pay(sim_client, order_id)

    sim_receiver.wait_for(2)
    assert sim_receiver.statuses() == ["settlement", "pending"]


def test_in_order_without_the_shuffle_fault(sim_client, sim_snap, sim_receiver):
    order_id, _ = sim_snap()
    pay(sim_client, order_id, payment_type="credit_card")
    sim_client.post(f"/_sim/transactions/{order_id}/settle")
    sim_client.post(f"/_sim/transactions/{order_id}/refund", json={"amount": 1000})

    sim_receiver.wait_for(4)
    assert sim_receiver.statuses() == ["pending", "capture", "settlement", "partial_refund"]


def test_the_server_key_never_reaches_the_logs(sim_client, sim_snap, sim_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    order_id, _ = sim_snap()
    pay(sim_client, order_id)
    sim_client.post("/snap/v1/transactions", json={}, headers={"Authorization": "Basic eDo="})
    sim_receiver.wait_for(2)
    wait_until(lambda: len(deliveries(sim_client, order_id)["deliveries"]) == 2)

    assert "notification.attempt" in caplog.text
    assert SERVER_KEY not in caplog.text
