"""Midtrans notifications: accepted per second at the endpoint, processed per second by one worker.

    python bench/webhooks.py [--orders 300] [--duration 10] [--clients 16] [--noops 2000]

In one run, on a scratch PostgreSQL database (`pos_bench_webhooks`):

1. seeds `--orders` online orders with a pending payment attempt each, and
   the same transactions, settled, in a simulator started for the run;
2. with no worker running, drives `POST /api/webhooks/midtrans` on gunicorn
   with wrk for `--duration` seconds, cycling through validly signed
   settlement notifications: accepted/s (each one stored raw, verified and
   queued);
3. starts one worker (solo pool: one task at a time) and times how fast it
   drains those notifications (each asks the simulator's status API, then
   applies the result under a lock; repeats of one order are no-ops);
4. with the same worker, times `--noops` no-op tasks: the queue's own rate.

Needs PostgreSQL, Redis and Debian's `wrk`. Prints figures; asserts nothing about time.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.testing import free_port, running_simulator  # noqa: E402

DB_NAME = "pos_bench_webhooks"
SERVER_KEY = "SB-Mid-server-simulator-dev-key"
ENV = {
    **os.environ,
    "APP_ENV": "development",
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench-secret-key-" + "x" * 32,
    "JWT_SECRET_KEY": "bench-jwt-secret-key-" + "y" * 32,
    "MIDTRANS_SERVER_KEY": SERVER_KEY,
}

WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(path)s") do bodies[#bodies + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/webhooks/midtrans", {["Content-Type"] = "application/json"}, bodies[(counter %% #bodies) + 1])
end
"""


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def recreate_database():
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=ENV)


def seed(app, simulator_url, orders):
    """Orders with a pending attempt each, and the same transactions settled at the simulator."""
    from app.catalog.models import Product
    from app.extensions import db
    from app.inventory.models import StockLevel
    from app.models import utcnow
    from app.orders.models import Order, OrderItem
    from app.payments.models import PaymentAttempt
    from app.stores.models import default_store

    session = requests.Session()
    session.auth = (SERVER_KEY, "")
    notifications = []
    with app.app_context():
        store_id = default_store().id
        product = Product(sku="WH-1", name="Kopi", price_idr=20_000, is_active=True, low_stock_threshold=0)
        db.session.add(product)
        db.session.flush()
        db.session.add(StockLevel(store_id=store_id, product_id=product.id, quantity=10**6, updated_at=utcnow()))
        for _ in range(orders):
            order = Order(id=uuid.uuid4(), store_id=store_id, status="pending", payment_status="pending",
                          customer_name="Bench", customer_phone="6281200000000", subtotal_idr=20_000,
                          total_idr=20_000, refunded_idr=0, stock_reserved=True,
                          expires_at=utcnow() + timedelta(hours=2),
                          items=[OrderItem(product_id=product.id, sku="WH-1", name="Kopi", qty=1,
                                           unit_price_idr=20_000, line_total_idr=20_000)])
            midtrans_order_id = f"{order.id.hex}-1"
            db.session.add(order)
            db.session.add(PaymentAttempt(order_id=order.id, attempt_no=1, midtrans_order_id=midtrans_order_id,
                                          status="pending", amount_idr=20_000, refunded_idr=0))
            session.post(f"{simulator_url}/snap/v1/transactions", json={
                "transaction_details": {"order_id": midtrans_order_id, "gross_amount": 20_000}}).raise_for_status()
            session.post(f"{simulator_url}/_sim/transactions/{midtrans_order_id}/pay",
                         json={"payment_type": "qris"}).raise_for_status()
            signature = hashlib.sha512(f"{midtrans_order_id}20020000.00{SERVER_KEY}".encode()).hexdigest()
            notifications.append(json.dumps({
                "order_id": midtrans_order_id, "status_code": "200", "gross_amount": "20000.00",
                "transaction_status": "settlement", "fraud_status": "accept", "payment_type": "qris",
                "signature_key": signature, "transaction_id": str(uuid.uuid4()),
            }))
        db.session.commit()
    return notifications


def count(sql):
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}") as connection:
        return connection.execute(sql).fetchone()[0]


def start(command, env, log_name):
    log = open(ROOT / "artifacts" / log_name, "w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers for the API")
    parser.add_argument("--noops", type=int, default=2000)
    args = parser.parse_args()
    (ROOT / "artifacts").mkdir(exist_ok=True)

    with running_simulator() as simulator_url:
        env = {**ENV, "MIDTRANS_SNAP_BASE_URL": f"{simulator_url}/snap/v1", "MIDTRANS_API_BASE_URL": simulator_url}
        os.environ.update(env)
        recreate_database()
        from app import create_app

        app = create_app()
        celery = app.extensions["celery"]
        celery.control.purge()
        notifications = seed(app, simulator_url, args.orders)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as bodies:
            bodies.write("\n".join(notifications) + "\n")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT % {"path": bodies.name})

        port = free_port()
        api = start([sys.executable, "-m", "gunicorn", "wsgi:app", "-b", f"127.0.0.1:{port}", "-w", str(args.workers),
                     "--log-level", "warning"], env, "bench-webhooks-api.log")
        try:
            wait_until(lambda: _answers(f"http://127.0.0.1:{port}/api/menu"), 30)
            output = run(["wrk", "-t", "2", "-c", str(args.clients), "-d", f"{args.duration}s", "--latency",
                          "-s", script.name, f"http://127.0.0.1:{port}"]).stdout
        finally:
            api.terminate()
            api.wait(timeout=30)
        accepted = count("SELECT count(*) FROM webhook_logs WHERE processing_status = 'received'")
        accepted_per_s = accepted / args.duration
        p99 = next((line.split()[-1] for line in output.splitlines() if line.strip().startswith("99%")), "?")

        worker = start([sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--pool=solo",
                        "--without-gossip", "--without-mingle", "--loglevel=WARNING"], env, "bench-webhooks-worker.log")
        try:
            started = time.monotonic()
            wait_until(lambda: count("SELECT count(*) FROM webhook_logs WHERE processing_status = 'received'") == 0,
                       timeout=max(600, accepted / 5), interval=0.2)
            processed_seconds = time.monotonic() - started
            processed = count("SELECT count(*) FROM webhook_logs WHERE processing_status = 'processed'")
            paid = count("SELECT count(*) FROM orders WHERE status = 'paid'")

            from tasks.system import noop, ping

            ping.apply_async().get(timeout=30)  # the worker is up and the queue empty
            started = time.monotonic()
            for _ in range(args.noops):
                noop.delay()
            ping.apply_async().get(timeout=600)
            noop_seconds = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    report = {
        "notifications_accepted": accepted,
        "accepted_per_s": round(accepted_per_s, 1),
        "endpoint_p99": p99,
        "notifications_processed": processed,
        "orders_paid": paid,
        "processed_per_s_one_worker": round(processed / processed_seconds, 1) if processed_seconds else None,
        "noop_tasks_per_s_one_worker": round(args.noops / noop_seconds, 1),
    }
    print(json.dumps(report, indent=2))


def _answers(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
