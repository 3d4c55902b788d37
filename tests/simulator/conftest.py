"""Fixtures for the simulator's own tests. Independent of tests/conftest.py:
names are prefixed `sim_` so they never shadow the main app's fixtures."""

import base64
import uuid

import pytest

from simulator import create_app
from tests.simulator.support import RETRY_SCALE, SERVER_KEY, Receiver


@pytest.fixture
def sim_receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def sim_config(tmp_path, sim_receiver):
    return {
        "SERVER_KEY": SERVER_KEY,
        "DB": str(tmp_path / "simulator.sqlite3"),
        "PUBLIC_URL": "http://sim.test",
        "NOTIFICATION_URL": sim_receiver.url,
        "RETRY_SCALE": RETRY_SCALE,
        "NOTIFY_TIMEOUT": 0.5,
        "SHUFFLE_HOLD_SECONDS": 0.3,
    }


@pytest.fixture
def sim_app(sim_config):
    flask_app = create_app(sim_config)
    yield flask_app
    flask_app.extensions["simulator"].close()


@pytest.fixture
def sim_client(sim_app):
    return sim_app.test_client()


@pytest.fixture
def sim_auth():
    token = base64.b64encode(f"{SERVER_KEY}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def sim_snap(sim_client, sim_auth):
    """Creates a Snap transaction; returns (order_id, response json)."""

    def create(order_id=None, amount=10000, headers=None, **extra):
        order_id = order_id or f"sim-{uuid.uuid4().hex[:12]}"
        body = {"transaction_details": {"order_id": order_id, "gross_amount": amount}, **extra}
        response = sim_client.post("/snap/v1/transactions", json=body,
                                   headers={**sim_auth, **(headers or {})})
        assert response.status_code == 201, response.json
        return order_id, response.json

    return create

