"""The Midtrans gateway: notification signatures, amounts, and how Midtrans's answers are read.

Signatures are checked against the signed samples in /work/shared/midtrans-samples
(server key `SB-Mid-server-SAMPLE`) and against a hashlib computation written here.
The gateway's HTTP calls are made against the real simulator process.
"""

import hashlib
import json
import os
from pathlib import Path

import pytest

from app.payments.gateway import GatewayError, MidtransGateway, TransactionState, signature_for, signature_is_valid
from tests.payments_support import SIMULATOR_SERVER_KEY

SAMPLES = Path(os.environ.get("MIDTRANS_SAMPLES_DIR", "/work/shared/midtrans-samples"))
SAMPLE_KEY = "SB-Mid-server-SAMPLE"
SAMPLE_FILES = ["capture-challenge-card.json", "expire-qris.json", "pending-bank-transfer.json",
                "settlement-bank-transfer.json"]


def sample(name):
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_the_signed_samples_verify_with_their_key(name):
    body = sample(name)
    independent = hashlib.sha512(
        (body["order_id"] + body["status_code"] + body["gross_amount"] + SAMPLE_KEY).encode()).hexdigest()

    assert body["signature_key"] == independent
    assert signature_for(body["order_id"], body["status_code"], body["gross_amount"], SAMPLE_KEY) == independent
    assert signature_is_valid(body, SAMPLE_KEY) is True


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_the_samples_do_not_verify_with_another_key_or_changed_fields(name):
    body = sample(name)
    assert signature_is_valid(body, SIMULATOR_SERVER_KEY) is False
    for field, value in (("order_id", body["order_id"] + "x"), ("status_code", "200" if body["status_code"] != "200"
                         else "201"), ("gross_amount", "75000"), ("signature_key", body["signature_key"][:-1] + "0")):
        changed = dict(body, **{field: value})
        assert signature_is_valid(changed, SAMPLE_KEY) is False, field


def test_the_signature_does_not_cover_the_transaction_status():
    body = dict(sample("pending-bank-transfer.json"), transaction_status="settlement")
    assert signature_is_valid(body, SAMPLE_KEY) is True  # hence the status API is asked before acting


def test_an_uppercase_signature_is_accepted_and_missing_or_odd_values_are_not():
    body = sample("settlement-bank-transfer.json")
    assert signature_is_valid(dict(body, signature_key=body["signature_key"].upper()), SAMPLE_KEY) is True
    assert signature_is_valid({k: v for k, v in body.items() if k != "signature_key"}, SAMPLE_KEY) is False
    assert signature_is_valid(dict(body, signature_key=None), SAMPLE_KEY) is False
    assert signature_is_valid(dict(body, signature_key=12345), SAMPLE_KEY) is False
    assert signature_is_valid({}, SAMPLE_KEY) is False


@pytest.mark.parametrize("gross_amount, expected", [
    ("75000.00", 75000), ("75000", 75000), ("75000.0", 75000), ("1.00", 1), ("0.00", 0),
    ("75000.50", None), ("75000.01", None), ("-75000.00", None), ("7.5e4", None), ("abc", None), ("", None),
    (None, None), (75000, 75000),
])
def test_transaction_state_amount_is_whole_rupiah_or_none(gross_amount, expected):
    assert TransactionState(found=True, gross_amount=gross_amount).amount_idr == expected


# --- against the simulator -------------------------------------------------------------


def gateway_for(url, server_key=SIMULATOR_SERVER_KEY):
    return MidtransGateway(server_key=server_key, client_key="SB-Mid-client-simulator-dev-key", is_production=False,
                           snap_base_url=f"{url}/snap/v1", api_base_url=url)


def snap_params(order_id, amount=10_000):
    return {"transaction_details": {"order_id": order_id, "gross_amount": amount},
            "item_details": [{"id": "1", "price": amount, "quantity": 1, "name": "Kopi"}]}


def test_status_before_a_method_is_chosen_reads_as_not_found_not_an_error(midtrans_sim):
    gateway = gateway_for(midtrans_sim.url)
    order_id = f"unit-{os.urandom(6).hex()}"
    gateway.create_snap(snap_params(order_id))

    state = gateway.status(order_id)

    assert state.found is False and state.status_code == "404"
    assert gateway.status(f"never-{os.urandom(6).hex()}").found is False


def test_status_after_payment_reads_the_state_and_amount(midtrans_sim):
    gateway = gateway_for(midtrans_sim.url)
    order_id = f"unit-{os.urandom(6).hex()}"
    gateway.create_snap(snap_params(order_id, 42_000))
    midtrans_sim.pay(order_id, payment_type="qris")

    state = gateway.status(order_id)

    assert (state.found, state.transaction_status, state.payment_type, state.amount_idr) == (
        True, "settlement", "qris", 42_000)


def test_snap_errors_are_gateway_errors_transient_only_for_outages(midtrans_sim):
    gateway = gateway_for(midtrans_sim.url)
    try:
        midtrans_sim.faults(snap_error_status=503)
        with pytest.raises(GatewayError) as outage:
            gateway.create_snap(snap_params(f"unit-{os.urandom(6).hex()}"))
        assert outage.value.transient is True and outage.value.http_status == 503
    finally:
        midtrans_sim.faults(snap_error_status=None)

    order_id = f"unit-{os.urandom(6).hex()}"
    gateway.create_snap(snap_params(order_id))
    with pytest.raises(GatewayError) as taken:
        gateway.create_snap(snap_params(order_id))
    assert taken.value.transient is False and taken.value.http_status == 400
    assert "already been taken" in str(taken.value.body)

    with pytest.raises(GatewayError) as wrong_key:
        gateway_for(midtrans_sim.url, server_key="SB-Mid-server-wrong").create_snap(
            snap_params(f"unit-{os.urandom(6).hex()}"))
    assert wrong_key.value.transient is False and wrong_key.value.http_status == 401


def test_an_unreachable_midtrans_is_a_transient_error():
    from simulator.testing import free_port

    with pytest.raises(GatewayError) as unreachable:
        gateway_for(f"http://127.0.0.1:{free_port()}").status("anything-1")
    assert unreachable.value.transient is True
