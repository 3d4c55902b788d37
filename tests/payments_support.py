"""A real payments stack for tests: the Midtrans simulator, the API over HTTP, a Celery worker.

Midtrans is replaced by the in-repo simulator (a real `python -m simulator`
process); nothing of ours is mocked. The simulator must reach our webhook over
HTTP and our worker must reach the simulator, so the stack is three processes:

- the simulator, posting notifications to the API server's webhook;
- the API (gunicorn, `wsgi:app`) with the MIDTRANS_* settings pointing at the
  simulator and at its own webhook;
- a Celery worker with the same settings.

The server and worker use the run's test database and the app's Redis (so the
per-test clean-up of tables and rate limits applies to them), but their own
Celery broker, a dedicated redis-server: the conftest `celery_worker`
(session-scoped, no Midtrans settings) consumes another one, so exactly one
worker, ours, ever sees the payment tasks whichever tests ran before.

The fixtures (`midtrans_sim`, `payments_stack`, `payments`, ...) are in the plugin
tests/fixtures/payments.py, registered in tests/conftest.py; test modules import
only the helpers below.
"""

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import redis
import requests
from celery import Celery
from sqlalchemy import func, select, text, update

from simulator.testing import free_port
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
SIMULATOR_SERVER_KEY = "SB-Mid-server-simulator-dev-key"
CUSTOMER = {"name": "Siti Rahayu", "phone": "0812-3456-7890", "email": "siti@example.com"}
CUSTOMER_PHONE = "6281234567890"  # CUSTOMER["phone"] as stored
PROCESS_TIMEOUT = 30


# --- processes -------------------------------------------------------------------


def stack_env(app, *, sim_url, api_url, broker_url, redis_url=None, **extra):
    """Environment of a server or worker on the test database, pointed at the simulator."""
    redis_url = redis_url or app.config["REDIS_URL"]
    env = dict(os.environ)
    env.update(
        APP_ENV="testing",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_RESULT_BACKEND=broker_url,
        SECRET_KEY=app.config["SECRET_KEY"],
        JWT_SECRET_KEY=app.config["JWT_SECRET_KEY"],
        MIDTRANS_SERVER_KEY=SIMULATOR_SERVER_KEY,
        MIDTRANS_CLIENT_KEY="SB-Mid-client-simulator-dev-key",
        MIDTRANS_IS_PRODUCTION="false",
        MIDTRANS_SNAP_BASE_URL=f"{sim_url}/snap/v1",
        MIDTRANS_API_BASE_URL=sim_url,
        MIDTRANS_NOTIFICATION_URL=f"{api_url}/api/webhooks/midtrans",
        # Tests poll the public endpoints; the rate limit itself is tested in-process.
        PUBLIC_RATE_LIMIT="100000 per minute",
        # Attempts older than this are asked about by `payments.reconcile`.
        PAYMENT_RECONCILE_GRACE_SECONDS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def _log_file(name):
    ARTIFACTS.mkdir(exist_ok=True)
    return open(ARTIFACTS / name, "ab")


def _stop(process, timeout=20):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class ApiServer:
    """gunicorn serving `wsgi:app` on a fixed 127.0.0.1 port."""

    def __init__(self, env, port, log_name="payments-api.log"):
        self.env, self.port, self.log_name = env, port, log_name
        self.url = f"http://127.0.0.1:{port}"
        self.process = None

    def start(self):
        self._log = _log_file(self.log_name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app", "-b", f"127.0.0.1:{self.port}", "-w", "2",
             "-k", "gthread", "--threads", "16", "--timeout", "60", "--graceful-timeout", "5"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"API server exited with {self.process.returncode}; see artifacts/{self.log_name}")
            try:
                if requests.get(f"{self.url}/api/menu", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"API server did not answer; see artifacts/{self.log_name}")
            time.sleep(0.1)

    def stop(self):
        _stop(self.process)
        self._log.close()


class Worker:
    """A real `celery -A celery_worker worker` process; `kill()` is SIGKILL, `start()` a fresh one."""

    def __init__(self, env, log_name="payments-worker.log"):
        self.env, self.log_name = env, log_name
        self.client = Celery("payments-tests", broker=env["CELERY_BROKER_URL"], backend=env["CELERY_RESULT_BACKEND"],
                             set_as_current=False)
        self.client.conf.update(broker_connection_retry_on_startup=True, task_serializer="json",
                                result_serializer="json", accept_content=["json"])
        self.process = None
        self._log = None

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def purge(self):
        self.client.control.purge()

    def start(self):
        self._log = self._log or _log_file(self.log_name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--pool=threads", "--concurrency=4",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"payments-{secrets.token_hex(3)}@%h"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}; see artifacts/{self.log_name}")
            try:
                if self.client.send_task("system.ping", expires=5).get(timeout=2) == "pong":
                    return self
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
            time.sleep(0.1)

    def kill(self):
        """SIGKILL: no warm shutdown, unacknowledged tasks stay unacknowledged."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        _stop(self.process)
        if self._log:
            self._log.close()
            self._log = None

    def run(self, name, *args, timeout=60):
        """Send a task by name to this worker and wait for its result."""
        return self.client.send_task(name, args=list(args)).get(timeout=timeout)

    def reconcile(self):
        """The beat task `payments.reconcile`, run by the real worker; returns its counts."""
        return self.run("payments.reconcile")


class RedisServer:
    """A dedicated, throw-away `redis-server` on its own port, which a test may stop and start again."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: self._pings(client), timeout=15, message="the dedicated redis-server")
        return self

    @staticmethod
    def _pings(client):
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def stop(self):
        _stop(self.process, timeout=10)


# --- the simulator's control API ----------------------------------------------------


class Simulator:
    def __init__(self, url):
        self.url = url

    def _post(self, path, body=None, expect=200):
        response = requests.post(f"{self.url}{path}", json=body or {}, timeout=10)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json()

    def reset(self):
        self._post("/_sim/reset")

    def faults(self, **changes):
        return self._post("/_sim/faults", changes)

    def pay(self, midtrans_order_id, **body):
        return self._post(f"/_sim/transactions/{midtrans_order_id}/pay", body)

    def fail(self, midtrans_order_id, **body):
        return self._post(f"/_sim/transactions/{midtrans_order_id}/fail", body)

    def expire(self, midtrans_order_id):
        return self._post(f"/_sim/transactions/{midtrans_order_id}/expire")

    def choose_method(self, snap_token, method="bca_va"):
        """What the customer does on the Snap page: pick a method (the transaction becomes pending)."""
        response = requests.post(f"{self.url}/snap/v4/redirection/{snap_token}/method", data={"method": method},
                                 allow_redirects=False, timeout=10)
        assert response.status_code == 303, response.text

    def transaction(self, midtrans_order_id):
        """What the simulator stored for this order_id, or None if Snap was never asked for it."""
        response = requests.get(f"{self.url}/_sim/transactions/{midtrans_order_id}", timeout=10)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()

    def notifications(self, midtrans_order_id):
        response = requests.get(f"{self.url}/_sim/notifications", params={"order_id": midtrans_order_id}, timeout=10)
        return [entry["body"] for entry in response.json()["notifications"]]

    def notification(self, midtrans_order_id, transaction_status):
        """The latest signed body the simulator wrote for this status (sent, or dropped by a fault)."""
        bodies = [b for b in self.notifications(midtrans_order_id) if b["transaction_status"] == transaction_status]
        assert bodies, f"the simulator wrote no {transaction_status} notification for {midtrans_order_id}"
        return bodies[-1]

    def deliveries(self, midtrans_order_id):
        response = requests.get(f"{self.url}/_sim/deliveries", params={"order_id": midtrans_order_id}, timeout=10)
        return response.json()


def sign(order_id, status_code, gross_amount, server_key=SIMULATOR_SERVER_KEY):
    """Midtrans's signature, computed here independently of app.payments.gateway."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def signed_notification(midtrans_order_id, transaction_status, gross_amount, status_code="200", **fields):
    body = {
        "transaction_time": "2026-11-26 10:15:30",
        "transaction_status": transaction_status,
        "transaction_id": str(uuid.uuid4()),
        "status_message": "Success, transaction is found",
        "status_code": status_code,
        "payment_type": "bank_transfer",
        "order_id": midtrans_order_id,
        "merchant_id": "G000000000",
        "gross_amount": gross_amount,
        "fraud_status": "accept",
        "currency": "IDR",
        **fields,
    }
    body["signature_key"] = sign(midtrans_order_id, status_code, gross_amount)
    return body


# --- the stack and what tests do with it ------------------------------------------------


class PaymentsStack:
    """The running stack, with the few calls tests make: the public API over HTTP, the simulator, the worker."""

    def __init__(self, app, sim, server, worker):
        self.app, self.sim, self.server, self.worker = app, sim, server, worker
        self.url = server.url
        self.http = requests.Session()

    # The public API, as a customer's browser calls it
    def post(self, path, **kwargs):
        return self.http.post(f"{self.url}{path}", timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.http.get(f"{self.url}{path}", timeout=30, **kwargs)

    def patch(self, path, **kwargs):
        return self.http.patch(f"{self.url}{path}", timeout=60, **kwargs)

    def place_order(self, items, customer=CUSTOMER, **fields):
        lines = [{"product_id": product_id, "qty": qty} for product_id, qty in items]
        response = self.post("/api/orders", json={"customer": customer, "items": lines, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def start_payment(self, order_id):
        """POST /api/payments/{id}/create, then poll GET /api/payments/{id} while it says creating (202)."""
        response = self.post(f"/api/payments/{order_id}/create")
        assert response.status_code in (201, 202), response.text
        body = response.json()
        if response.status_code == 202:
            assert body["status"] == "creating"
            body = wait_for(lambda: self._payment_past_creating(order_id), timeout=30,
                            message="the worker to ask Snap for a token")
        return body

    def _payment_past_creating(self, order_id):
        body = self.get(f"/api/payments/{order_id}").json()
        return body if body["status"] != "creating" else None

    def webhook(self, body=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(body)
        return self.post("/api/webhooks/midtrans", data=data,
                         headers={"Content-Type": "application/json", **(headers or {})})

    def order_status(self, order_id):
        response = self.get(f"/api/orders/{order_id}/status")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_order(self, order_id, status, timeout=30):
        return wait_for(lambda: self.order_status(order_id)["status"] == status, timeout=timeout,
                        message=f"order {order_id} to become {status}")

    def paid_order(self, items, payment_type="bank_transfer", **pay):
        """An order placed, a token issued and paid at the simulator, its notification processed."""
        order = self.place_order(items)
        payment = self.start_payment(order["id"])
        assert payment["status"] == "pending", payment
        self.sim.pay(midtrans_order_id(order["id"]), payment_type=payment_type, **pay)
        self.wait_order(order["id"], "paid")
        return order

    # Rows, read in the test process
    @contextmanager
    def db(self):
        from app.extensions import db

        with self.app.app_context():
            yield db.session

    def attempts(self, order_id):
        from app.payments.models import PaymentAttempt

        with self.db() as session:
            rows = session.scalars(select(PaymentAttempt).where(PaymentAttempt.order_id == uuid.UUID(str(order_id)))
                                   .order_by(PaymentAttempt.attempt_no)).all()
            session.expunge_all()
            return rows

    def order_row(self, order_id):
        from app.orders.models import Order

        with self.db() as session:
            order = session.get(Order, uuid.UUID(str(order_id)))
            session.expunge_all()
            return order

    def webhook_logs(self, midtrans_order_id=None):
        from app.payments.models import WebhookLog

        with self.db() as session:
            query = select(WebhookLog).order_by(WebhookLog.id)
            if midtrans_order_id:
                query = query.where(WebhookLog.midtrans_order_id == midtrans_order_id)
            rows = session.scalars(query).all()
            session.expunge_all()
            return rows

    def wait_logs_done(self, midtrans_order_id, transaction_status=None, count=None, timeout=30):
        """The order's logged notifications once every one is past `received` (and the awaited one arrived)."""
        def done():
            logs = self.webhook_logs(midtrans_order_id)
            if not logs or any(log.processing_status == "received" for log in logs):
                return None
            if transaction_status and not any(log.transaction_status == transaction_status for log in logs):
                return None
            if count is not None and len(logs) < count:
                return None
            return logs

        return wait_for(done, timeout=timeout, message=f"notifications of {midtrans_order_id} to be processed")

    def events(self, order_id, kind=None):
        from app.payments.models import PaymentAttempt, PaymentEvent

        with self.db() as session:
            query = (select(PaymentEvent).join(PaymentAttempt, PaymentAttempt.id == PaymentEvent.attempt_id)
                     .where(PaymentAttempt.order_id == uuid.UUID(str(order_id))).order_by(PaymentEvent.id))
            if kind:
                query = query.where(PaymentEvent.kind == kind)
            rows = session.scalars(query).all()
            session.expunge_all()
            return rows

    def movements(self, order_id, reason=None):
        return order_movements(self.app, order_id, reason)

    def backdate_order(self, order_id, minutes=1):
        """The order's time to pay ran out `minutes` ago (instead of waiting ORDER_PAYMENT_TTL_MINUTES)."""
        from app.models import utcnow
        from app.orders.models import Order

        with self.db() as session:
            session.execute(update(Order).where(Order.id == uuid.UUID(str(order_id)))
                            .values(expires_at=utcnow() - timedelta(minutes=minutes)))
            session.commit()

    def backdate_notifications(self, seconds=60):
        """Stored notifications arrived `seconds` ago: the sweep re-queues `received` ones older than 30 s."""
        from app.payments.models import WebhookLog

        with self.db() as session:
            session.execute(update(WebhookLog).values(
                received_at=WebhookLog.received_at - text(f"interval '{int(seconds)} seconds'")))
            session.commit()


def midtrans_order_id(order_id, attempt_no=1):
    """The Midtrans order_id of an order's attempt: the order's UUID hex and the attempt number."""
    return f"{uuid.UUID(str(order_id)).hex}-{attempt_no}"


def order_movements(app, order_id, reason=None):
    """(product_id, delta, reason) of the stock movements that reference the order, oldest first."""
    from app.extensions import db
    from app.inventory.models import StockMovement

    with app.app_context():
        query = select(StockMovement).where(StockMovement.reference == f"order:{order_id}").order_by(StockMovement.id)
        if reason:
            query = query.where(StockMovement.reason == reason)
        return [(m.product_id, m.delta, m.reason) for m in db.session.scalars(query)]


def stock_of(app, product_id):
    from app.extensions import db
    from app.inventory.models import StockLevel
    from app.stores.models import default_store

    with app.app_context():
        return db.session.scalar(select(StockLevel.quantity).where(
            StockLevel.product_id == product_id, StockLevel.store_id == default_store().id))


def count(app, model, *where):
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def create_product(client, headers, sku, price_idr=10_000, stock=100, **fields):
    body = {"sku": sku, "name": f"Produk {sku}", "price_idr": price_idr, "initial_stock": stock, **fields}
    response = client.post("/api/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def configure_store(app, **settings):
    """Tax and service charge on the default store (the per-test clean-up resets them)."""
    from app.extensions import db
    from app.stores.models import default_store

    with app.app_context():
        store = default_store()
        for name, value in settings.items():
            setattr(store, name, value)
        db.session.commit()
