"""The simulator as a real server: through midtransclient, and under gunicorn
with several worker processes sharing one SQLite file."""

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import midtransclient
import pytest
import requests
from midtransclient.error_midtrans import MidtransAPIError

from simulator.testing import free_port, running_simulator
from tests.simulator.support import Receiver, wait_until

SERVER_KEY = "SB-Mid-server-real-server-test"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim_server_receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def sim_server(sim_server_receiver):
    with running_simulator(SIMULATOR_SERVER_KEY=SERVER_KEY, SIMULATOR_RETRY_SCALE="0.0001",
                           SIMULATOR_NOTIFY_TIMEOUT="1") as base_url:
        yield base_url


def snap_client(base_url, server_key=SERVER_KEY, headers=None):
    snap = midtransclient.Snap(is_production=False, server_key=server_key,
                               client_key="SB-Mid-client-x", custom_headers=dict(headers or {}))
    # midtransclient 1.4.2 reads its base URLs from these ApiConfig attributes.
    snap.api_config.SNAP_SANDBOX_BASE_URL = f"{base_url}/snap/v1"
    snap.api_config.CORE_SANDBOX_BASE_URL = base_url
    return snap


def new_order_id():
    return f"mc-{uuid.uuid4().hex[:16]}"


def test_midtransclient_create_then_status(sim_server, sim_server_receiver):
    snap = snap_client(sim_server, headers={"X-Override-Notification": sim_server_receiver.url})
    order_id = new_order_id()

    created = snap.create_transaction({
        "transaction_details": {"order_id": order_id, "gross_amount": 20000},
        "item_details": [{"id": "p1", "name": "Nasi goreng", "price": 20000, "quantity": 1}],
    })
    assert created["redirect_url"] == f"{sim_server}/snap/v4/redirection/{created['token']}"

    # No method chosen yet: HTTP 200 with status_code "404" in the body, which
    # midtransclient raises. A backend must read this as "still pending".
    with pytest.raises(MidtransAPIError) as raised:
        snap.transactions.status(order_id)
    assert raised.value.http_status_code == 200
    assert raised.value.api_response_dict["status_code"] == "404"

    paid = requests.post(f"{sim_server}/_sim/transactions/{order_id}/pay",
                         json={"payment_type": "qris"}, timeout=5)
    assert paid.status_code == 200
    status = snap.transactions.status(order_id)
    assert (status["transaction_status"], status["status_code"]) == ("settlement", "200")

    refund = snap.transactions.refund(order_id, {"refund_key": "rk-1", "amount": 5000,
                                                 "reason": "cold"})
    assert refund["transaction_status"] == "partial_refund"

    with pytest.raises(MidtransAPIError) as raised:
        snap.transactions.cancel(order_id)
    assert raised.value.http_status_code == 412

    statuses = [r["body"]["transaction_status"] for r in sim_server_receiver.wait_for(3)
                if r["body"]["order_id"] == order_id]
    assert statuses == ["pending", "settlement", "partial_refund"]


def test_midtransclient_expire_answers_407_without_raising(sim_server):
    snap = snap_client(sim_server)
    order_id = new_order_id()
    created = snap.create_transaction({"transaction_details": {"order_id": order_id,
                                                               "gross_amount": 15000}})
    requests.post(f"{created['redirect_url']}/method", data={"method": "bri_va"}, timeout=5)

    expired = snap.transactions.expire(order_id)

    assert (expired["status_code"], expired["transaction_status"]) == ("407", "expire")


def test_midtransclient_errors(sim_server):
    with pytest.raises(MidtransAPIError) as raised:
        snap_client(sim_server, server_key="SB-Mid-server-wrong").create_transaction(
            {"transaction_details": {"order_id": new_order_id(), "gross_amount": 1000}})
    assert raised.value.http_status_code == 401
    assert "unauthorized" in raised.value.message

    snap = snap_client(sim_server)
    order_id = new_order_id()
    snap.create_transaction({"transaction_details": {"order_id": order_id, "gross_amount": 1}})
    with pytest.raises(MidtransAPIError) as raised:
        snap.create_transaction({"transaction_details": {"order_id": order_id,
                                                         "gross_amount": 1}})
    assert raised.value.http_status_code == 400
    assert "has already been taken" in raised.value.message


def test_gunicorn_workers_share_state_and_deliver_each_notification_once():
    receiver = Receiver().start()
    receiver.answer(500, then=200)  # one retry, picked up by whichever worker
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as workdir:
        env = {**os.environ, "SIMULATOR_DB": os.path.join(workdir, "sim.sqlite3"),
               "SIMULATOR_NOTIFICATION_URL": receiver.url, "SIMULATOR_RETRY_SCALE": "0.0001",
               "SIMULATOR_PUBLIC_URL": base_url}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "simulator:app", "-b", f"127.0.0.1:{port}",
             "-w", "3", "--threads", "4"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: _answers(f"{base_url}/_sim/health"), timeout=15)
            snap = snap_client(base_url, server_key="SB-Mid-server-simulator-dev-key")
            order_id = new_order_id()
            snap.create_transaction({"transaction_details": {"order_id": order_id,
                                                             "gross_amount": 12000}})
            requests.post(f"{base_url}/_sim/transactions/{order_id}/pay", timeout=5)

            # Many requests land on different workers; all see one state.
            for _ in range(15):
                assert snap.transactions.status(order_id)["transaction_status"] == "settlement"
            receiver.wait_for(3)
            deliveries = wait_until(lambda: len(_deliveries(base_url, order_id)) == 3
                                    and _deliveries(base_url, order_id))
            # A notification waiting for its retry does not hold back the next one.
            assert sorted((d["transaction_status"], d["http_status"]) for d in deliveries) == \
                [("pending", 200), ("pending", 500), ("settlement", 200)]
            assert len(receiver.requests) == 3
        finally:
            server.terminate()
            server.wait(timeout=10)
            receiver.stop()


def _answers(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _deliveries(base_url, order_id):
    return requests.get(f"{base_url}/_sim/deliveries", params={"order_id": order_id},
                        timeout=5).json()["deliveries"]
