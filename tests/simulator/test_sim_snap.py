"""POST /snap/v1/transactions: answers, validation and expiry as Midtrans does."""

import base64
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.simulator.support import SERVER_KEY, dispatcher_pass, settled_deliveries

JAKARTA = timezone(timedelta(hours=7))


def snap_post(client, body, headers):
    return client.post("/snap/v1/transactions", json=body, headers=headers)


def test_create_answers_201_with_token_and_redirect_url(sim_client, sim_auth):
    response = snap_post(sim_client, {
        "transaction_details": {"order_id": "order-1", "gross_amount": 25000},
        "item_details": [{"id": "a", "name": "Kopi susu", "price": 12500, "quantity": 2}],
    }, sim_auth)

    assert response.status_code == 201
    token = response.json["token"]
    assert response.json == {
        "token": token,
        "redirect_url": f"http://sim.test/snap/v4/redirection/{token}",
    }


@pytest.mark.parametrize("authorization", [
    None,
    "Basic " + base64.b64encode(b"SB-Mid-server-wrong:").decode(),
    "Bearer " + SERVER_KEY,
])
def test_create_without_the_server_key_is_401(sim_client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = snap_post(sim_client, {
        "transaction_details": {"order_id": "order-1", "gross_amount": 10000}}, headers)

    assert response.status_code == 401
    assert "unauthorized" in response.json["error_messages"][0]


def test_create_does_not_accept_the_client_key(sim_client):
    headers = {"Authorization": "Basic " + base64.b64encode(
        b"SB-Mid-client-simulator-dev-key:").decode()}
    response = snap_post(sim_client, {
        "transaction_details": {"order_id": "order-1", "gross_amount": 10000}}, headers)
    assert response.status_code == 401


def details(order_id="order-1", amount=10000):
    return {"order_id": order_id, "gross_amount": amount}


@pytest.mark.parametrize("body, message", [
    (None, "transaction_details is required"),
    ({}, "transaction_details is required"),
    ({"transaction_details": {"gross_amount": 10000}}, "transaction_details.order_id is required"),
    ({"transaction_details": details("x" * 51)}, "transaction_details.order_id too long"),
    ({"transaction_details": details("order 1")}, "transaction_details.order_id may only contain"),
    ({"transaction_details": details("order/1")}, "transaction_details.order_id may only contain"),
    ({"transaction_details": {"order_id": "o"}}, "transaction_details.gross_amount is required"),
    ({"transaction_details": details(amount=10000.5)}, "must be a whole number"),
    ({"transaction_details": details(amount="10000.50")}, "must be a whole number"),
    ({"transaction_details": details(amount=0)}, "must be greater than 0"),
    ({"transaction_details": details(amount=-5)}, "must be greater than 0"),
    ({"transaction_details": details(amount=10000),
      "item_details": [{"name": "Kopi", "price": 5000, "quantity": 1}]},
     "transaction_details.gross_amount is not equal to the sum of item_details"),
    ({"transaction_details": details(amount=10000),
      "item_details": [{"name": "K" * 51, "price": 10000, "quantity": 1}]},
     "item_details Name too long"),
    ({"transaction_details": details(amount=10000),
      "item_details": [{"name": "Kopi", "price": 10000, "quantity": 0}]},
     "item_details[0].quantity"),
    ({"transaction_details": details(amount=10000),
      "item_details": [{"name": "Kopi", "price": 9999.5, "quantity": 1}]},
     "item_details[0].price"),
    ({"transaction_details": details(), "expiry": {"unit": "week", "duration": 1}},
     "expiry.unit"),
    ({"transaction_details": details(), "expiry": {"unit": "day", "duration": 8}},
     "7 days"),
    ({"transaction_details": details(), "expiry": {"unit": "minute", "duration": 0}},
     "expiry.duration"),
    ({"transaction_details": details(),
      "expiry": {"unit": "hour", "duration": 1, "start_time": "tomorrow"}},
     "expiry.start_time"),
])
def test_create_rejects_what_midtrans_rejects_with_400(sim_client, sim_auth, body, message):
    response = snap_post(sim_client, body, sim_auth)

    assert response.status_code == 400
    messages = response.json["error_messages"]
    assert any(message in text for text in messages), messages
    status = sim_client.get("/v2/order-1/status", headers=sim_auth)
    assert status.json["status_code"] == "404"  # nothing was created


def test_create_accepts_the_limits_and_a_discount_line(sim_client, sim_auth):
    response = snap_post(sim_client, {
        "transaction_details": {"order_id": "A-z_0~." + "9" * 43, "gross_amount": "15000"},
        "item_details": [
            {"name": "N" * 50, "price": 10000, "quantity": 2},
            {"name": "Diskon", "price": -5000, "quantity": 1},
        ],
        "expiry": {"unit": "days", "duration": 7},
    }, sim_auth)
    assert response.status_code == 201, response.json


def test_an_order_id_is_taken_for_ever(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()
    sim_client.post(f"/_sim/transactions/{order_id}/expire")

    response = snap_post(sim_client, {"transaction_details": details(order_id)}, sim_auth)

    assert response.status_code == 400
    assert response.json == {
        "error_messages": ["transaction_details.order_id has already been taken"]}


def test_default_expiry_is_24_hours(sim_client, sim_auth, sim_snap):
    order_id, _ = sim_snap()
    sim_client.post(f"/_sim/transactions/{order_id}/pay", json={"payment_type": "qris"})
    body = sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json

    transaction_time = datetime.strptime(body["transaction_time"], "%Y-%m-%d %H:%M:%S")
    expiry_time = datetime.strptime(body["expiry_time"], "%Y-%m-%d %H:%M:%S")
    assert timedelta(hours=23, minutes=59) <= expiry_time - transaction_time <= timedelta(hours=24)


def test_expiry_start_time_and_duration_are_honoured(sim_client, sim_auth, sim_snap):
    start = datetime(2026, 12, 1, 9, 0, 0, tzinfo=JAKARTA)
    order_id, _ = sim_snap(expiry={"start_time": start.strftime("%Y-%m-%d %H:%M:%S %z"),
                                   "unit": "minutes", "duration": 90})

    shown = sim_client.get(f"/_sim/transactions/{order_id}").json
    assert shown["expires_at"] == "2026-12-01 10:30:00"


def test_an_expired_token_shows_the_expiry_page_and_never_becomes_a_transaction(
        sim_client, sim_auth, sim_snap, sim_receiver):
    started = datetime.now(JAKARTA) - timedelta(minutes=2)
    order_id, created = sim_snap(expiry={
        "start_time": started.strftime("%Y-%m-%d %H:%M:%S %z"), "unit": "minute", "duration": 1})
    token = created["token"]

    page = sim_client.get(f"/snap/v4/redirection/{token}")
    assert page.status_code == 200
    assert b"This payment link has expired" in page.data
    chosen = sim_client.post(f"/snap/v4/redirection/{token}/method", data={"method": "bca_va"})
    assert chosen.status_code == 303
    assert sim_client.get(f"/v2/{order_id}/status", headers=sim_auth).json["status_code"] == "404"
    assert sim_client.post(f"/_sim/transactions/{order_id}/pay").status_code == 409
    dispatcher_pass(sim_client)  # its sweep of expired payments has looked too
    # Midtrans notifies nothing for an unused page: nothing written, nothing to send.
    written = sim_client.get("/_sim/notifications", query_string={"order_id": order_id}).json
    assert written["notifications"] == []
    assert settled_deliveries(sim_client, order_id) == []
    assert sim_receiver.requests == []


def test_notification_headers_are_stored_per_transaction(sim_client, sim_snap):
    order_id, _ = sim_snap(headers={
        "X-Override-Notification": "http://a.test/hook, http://b.test/hook",
        "X-Append-Notification": "http://c.test/hook"})

    shown = sim_client.get(f"/_sim/transactions/{order_id}").json
    assert shown["notification_override"] == ["http://a.test/hook", "http://b.test/hook"]
    assert shown["notification_append"] == ["http://c.test/hook"]


def test_snap_latency_fault_delays_the_answer(sim_client, sim_auth):
    sim_client.post("/_sim/faults", json={"snap_latency_ms": 300})

    started = time.monotonic()
    response = snap_post(sim_client, {"transaction_details": details()}, sim_auth)

    assert response.status_code == 201
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_snap_error_fault_answers_that_status_until_reset(sim_client, sim_auth, status):
    sim_client.post("/_sim/faults", json={"snap_error_status": status})

    failed = snap_post(sim_client, {"transaction_details": details()}, sim_auth)
    assert failed.status_code == status
    assert failed.json["error_messages"]

    sim_client.post("/_sim/faults", json={"snap_error_status": None})
    assert snap_post(sim_client, {"transaction_details": details()}, sim_auth).status_code == 201
