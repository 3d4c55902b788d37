"""Online payment end to end with the real worker and the Midtrans simulator, and what goes wrong in production.

Each test drives the public API over HTTP (the API server the simulator
notifies), lets the simulator act as Midtrans, and then checks what the
customer and the staff see plus the rows that must, or must not, exist:
attempts, notifications as logged, stock movements, payment events.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from app.customers.models import Customer
from app.payments.gateway import TransactionState
from app.payments.models import PaymentAttempt
from tests.helpers import wait_for
from tests.payments_support import (
    CUSTOMER_PHONE,
    ApiServer,
    RedisServer,
    Worker,
    count,
    midtrans_order_id,
    stack_env,
    stock_of,
)
from simulator.testing import free_port


def _only_online_order_movements(payments, order, products):
    assert sorted(payments.movements(order["id"])) == sorted(
        [(products["nasi"]["id"], -2, "online_order"), (products["teh"]["id"], -3, "online_order")])


def test_happy_path_menu_order_token_payment_webhook_fulfilment(payments, products, client, auth_headers, app):
    menu = payments.get("/api/menu")
    assert menu.status_code == 200
    listed = {p["id"]: p for c in menu.json()["categories"] for p in c["products"]}
    assert listed[products["nasi"]["id"]]["available"] == 5  # half of the 10 on hand is the counter's

    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    assert order["status"] == "pending"
    assert order["total_idr"] == 2 * 25_000 + 3 * 5_000
    assert uuid.UUID(order["id"]).version == 4
    _only_online_order_movements(payments, order, products)
    assert stock_of(app, products["nasi"]["id"]) == 8

    created = payments.post(f"/api/payments/{order['id']}/create")
    assert created.status_code in (201, 202), created.text
    payment = payments.start_payment(order["id"]) if created.status_code == 202 else created.json()
    assert payment["status"] == "pending"
    assert payment["snap_token"] and payment["redirect_url"].startswith(payments.sim.url)
    assert payment["amount_idr"] == order["total_idr"]

    again = payments.post(f"/api/payments/{order['id']}/create")
    assert again.status_code == 201
    assert again.json()["snap_token"] == payment["snap_token"]
    assert again.json()["payment_id"] == payment["payment_id"]
    mid = midtrans_order_id(order["id"])
    assert payments.sim.transaction(mid)["token"] == payment["snap_token"]
    assert payments.sim.transaction(midtrans_order_id(order["id"], 2)) is None  # one Snap create only
    assert len(payments.attempts(order["id"])) == 1

    payments.sim.pay(mid, payment_type="bank_transfer", bank="bca")
    payments.wait_order(order["id"], "paid")

    status = payments.order_status(order["id"])
    assert status["payment_status"] == "paid" and status["paid_at"]
    assert payments.get(f"/api/payments/{order['id']}").json()["status"] == "paid"
    every = payments.wait_logs_done(mid, "settlement")
    settlement = next(log for log in every if log.transaction_status == "settlement")
    assert settlement.signature_valid is True
    assert settlement.processing_status == "processed"
    assert '"transaction_status": "settlement"' in settlement.body or '"settlement"' in settlement.body
    assert settlement.headers.get("Content-Type", "").startswith("application/json")
    # The processor asks the status API, so whichever notification is processed first moves it, once.
    assert {log.processing_status for log in every} == {"processed"}
    assert sum("-> paid" in log.outcome for log in every) == 1
    row = payments.order_row(order["id"])
    with payments.db() as session:
        customer = session.get(Customer, row.customer_id)
        assert customer.phone == CUSTOMER_PHONE and customer.purchase_count == 1
        assert customer.total_spent_idr == order["total_idr"]
    _only_online_order_movements(payments, order, products)

    staff = auth_headers("cashier")
    for step in ("preparing", "ready"):
        response = client.patch(f"/api/orders/{order['id']}", json={"status": step}, headers=staff)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == step
    wrong = client.patch(f"/api/orders/{order['id']}", json={"status": "preparing"}, headers=staff)
    assert wrong.status_code == 409
    assert "completed" in wrong.get_json()["message"]
    done = client.patch(f"/api/orders/{order['id']}", json={"status": "completed"}, headers=staff)
    assert done.status_code == 200 and done.get_json()["completed_at"]
    assert payments.order_status(order["id"])["status"] == "completed"
    after = client.patch(f"/api/orders/{order['id']}", json={"status": "ready"}, headers=staff)
    assert after.status_code == 409


def test_a_fulfilment_step_cannot_be_skipped(payments, products, client, auth_headers):
    order = payments.paid_order([(products["teh"]["id"], 1)])
    staff = auth_headers("supervisor")
    skipped = client.patch(f"/api/orders/{order['id']}", json={"status": "completed"}, headers=staff)
    assert skipped.status_code == 409
    assert payments.order_status(order["id"])["status"] == "paid"


# --- duplicates, order, amounts ----------------------------------------------------------


def _paid_at_simulator_quietly(payments, items, **pay):
    """An order with a live token, paid at the simulator while its notifications are dropped:
    the test delivers the signed settlement itself. Returns (order, midtrans_order_id, settlement body)."""
    order = payments.place_order(items)
    assert payments.start_payment(order["id"])["status"] == "pending"
    mid = midtrans_order_id(order["id"])
    payments.sim.faults(drop_notifications=True)
    payments.sim.pay(mid, **pay)
    return order, mid, payments.sim.notification(mid, "settlement")


def _assert_paid_once(payments, order, products, app):
    attempts = payments.attempts(order["id"])
    assert [(a.attempt_no, a.status) for a in attempts] == [(1, "paid")]
    assert payments.order_status(order["id"])["status"] == "paid"
    _only_online_order_movements(payments, order, products)
    assert payments.movements(order["id"], "order_release") == []
    assert stock_of(app, products["nasi"]["id"]) == 8 and stock_of(app, products["teh"]["id"]) == 17
    assert count(app, Customer, Customer.phone == CUSTOMER_PHONE) == 1
    with payments.db() as session:
        assert session.query(Customer).filter_by(phone=CUSTOMER_PHONE).one().purchase_count == 1


def test_twenty_concurrent_duplicate_notifications_make_one_transition(payments, products, app):
    items = [(products["nasi"]["id"], 2), (products["teh"]["id"], 3)]
    order, mid, settlement = _paid_at_simulator_quietly(payments, items)

    barrier = threading.Barrier(20)

    def deliver(_):
        barrier.wait()
        return requests.post(f"{payments.url}/api/webhooks/midtrans", json=settlement, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(deliver, range(20)))

    assert answers == [200] * 20
    logs = payments.wait_logs_done(mid, count=20)
    assert len(logs) == 20
    assert all(log.signature_valid and log.processing_status == "processed" for log in logs)
    assert sum("-> paid" in log.outcome for log in logs) == 1
    _assert_paid_once(payments, order, products, app)


def test_the_simulators_duplicate_fault_pays_the_order_once(payments, products, app):
    payments.sim.faults(duplicate_notifications=10)
    order = payments.paid_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    mid = midtrans_order_id(order["id"])
    logs = payments.wait_logs_done(mid, count=20)  # 10 pending + 10 settlement
    assert {log.processing_status for log in logs} == {"processed"}
    assert sum("-> paid" in log.outcome for log in logs) == 1
    _assert_paid_once(payments, order, products, app)


def test_a_pending_notification_after_settlement_leaves_the_order_paid(payments, products, app):
    # Shuffled: the simulator holds the order's notifications and sends them newest first.
    payments.sim.faults(shuffle_notifications=True)
    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])
    payments.sim.pay(mid)
    logs = payments.wait_logs_done(mid, count=2)
    assert [log.transaction_status for log in logs] == ["settlement", "pending"]
    assert payments.order_status(order["id"])["status"] == "paid"

    # A signed late `pending` posted again after everything settled changes nothing either.
    pending = payments.sim.notification(mid, "pending")
    assert payments.webhook(pending).status_code == 200
    logs = payments.wait_logs_done(mid, count=3)
    assert "no change, still paid" in logs[-1].outcome
    _assert_paid_once(payments, order, products, app)


def test_a_stale_pending_reading_of_the_status_api_after_settlement_moves_nothing(payments, products, app):
    """Forward only even when the status API itself lags (a replica still saying pending)."""
    from app.payments import transitions

    order = payments.paid_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    attempt = payments.attempts(order["id"])[0]
    stale = TransactionState(found=True, transaction_status="pending", fraud_status="accept",
                             gross_amount=f"{order['total_idr']}.00", payment_type="bank_transfer", status_code="201")
    with app.app_context():
        outcome = transitions.apply_state(attempt.id, stale, "test: lagging status API")
    assert "pending after paid ignored" in outcome
    _assert_paid_once(payments, order, products, app)

    # And the other way round: pending first (nothing new), then settlement: paid.
    second = payments.place_order([(products["teh"]["id"], 1)])
    payments.start_payment(second["id"])
    attempt = payments.attempts(second["id"])[0]
    gross = f"{second['total_idr']}.00"
    with app.app_context():
        transitions.apply_state(attempt.id, TransactionState(found=True, transaction_status="pending",
                                                          gross_amount=gross, status_code="201"), "test")
        transitions.apply_state(attempt.id, TransactionState(found=True, transaction_status="settlement",
                                                          gross_amount=gross, status_code="200"), "test")
    assert payments.attempts(second["id"])[0].status == "paid"
    assert payments.order_status(second["id"])["status"] == "paid"


def test_a_validly_signed_payment_of_another_amount_does_not_pay_the_order(payments, products, app):
    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])
    # Midtrans holds the transaction for the order's total; our attempt now expects 1 000 more.
    with payments.db() as session:
        session.query(PaymentAttempt).filter_by(midtrans_order_id=mid).update({"amount_idr": order["total_idr"] + 1000})
        session.commit()
    payments.sim.pay(mid)

    logs = payments.wait_logs_done(mid, "settlement")
    settlement = next(log for log in logs if log.transaction_status == "settlement")
    assert settlement.signature_valid is True
    assert settlement.processing_status == "ignored" and "does not match" in settlement.outcome
    attempt = payments.attempts(order["id"])[0]
    assert attempt.status == "pending" and attempt.paid_at is None
    status = payments.order_status(order["id"])
    assert status["status"] == "pending" and status["paid_at"] is None
    mismatches = payments.events(order["id"], "amount_mismatch")
    assert len(mismatches) >= 1 and mismatches[0].amount_idr == order["total_idr"]
    assert payments.order_row(order["id"]).customer_id is None
    assert count(app, Customer) == 0


# --- lost notifications, expiry ---------------------------------------------------------


def test_a_dropped_notification_is_recovered_by_reconciliation(payments, products, app):
    payments.sim.faults(drop_notifications=True)
    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])
    payments.sim.pay(mid)

    deliveries = payments.sim.deliveries(mid)["deliveries"]
    assert deliveries and {d["outcome"] for d in deliveries} == {"dropped"}
    assert payments.webhook_logs(mid) == []
    assert payments.order_status(order["id"])["status"] == "pending"

    # Beat's task, run by the real worker: once the attempt is older than the grace period it asks Midtrans.
    wait_for(lambda: payments.worker.reconcile()["reconcile"] >= 1, timeout=30, interval=0.3,
             message="reconcile to pick the quiet attempt")
    payments.wait_order(order["id"], "paid")
    attempt = payments.attempts(order["id"])[0]
    assert attempt.status == "paid" and attempt.last_checked_at is not None
    assert payments.webhook_logs(mid) == []
    _assert_paid_once(payments, order, products, app)


def test_an_unpaid_order_expires_and_returns_its_stock_once(payments, products, app, inprocess_gateway):
    from app.payments import services

    order = payments.place_order([(products["nasi"]["id"], 2), (products["teh"]["id"], 3)])
    payment = payments.start_payment(order["id"])
    mid = midtrans_order_id(order["id"])
    payments.sim.choose_method(payment["snap_token"], "bca_va")  # a virtual account is waiting for money
    assert payments.sim.transaction(mid)["status"]["transaction_status"] == "pending"
    payments.backdate_order(order["id"])

    def expire_in_process():
        with app.app_context():
            return services.expire_order(order["id"])

    # Beat's sweep through the worker, racing two direct expiries of the same order.
    with ThreadPoolExecutor(max_workers=3) as pool:
        sweep = pool.submit(payments.worker.reconcile)
        direct = [pool.submit(expire_in_process) for _ in range(2)]
        assert sweep.result()["expire"] == 1
        outcomes = [future.result() for future in direct]
    payments.wait_order(order["id"], "expired")
    assert payments.worker.reconcile()["expire"] == 0  # the second sweep finds nothing due

    assert sorted(payments.movements(order["id"], "order_release")) == sorted(
        [(products["nasi"]["id"], 2, "order_release"), (products["teh"]["id"], 3, "order_release")])
    assert stock_of(app, products["nasi"]["id"]) == 10 and stock_of(app, products["teh"]["id"]) == 20
    assert outcomes.count("expired") <= 1
    wait_for(lambda: payments.attempts(order["id"])[0].status == "expired", message="the attempt to expire")
    assert payments.get(f"/api/payments/{order['id']}").json()["status"] == "expired"
    assert payments.order_status(order["id"])["payment_status"] == "expired"
    assert payments.sim.transaction(mid)["status"]["transaction_status"] == "expire"
    # Midtrans will not take money for it any more.
    assert requests.post(f"{payments.sim.url}/_sim/transactions/{mid}/pay", json={}, timeout=10).status_code == 409
    # Paying again is refused too.
    assert payments.post(f"/api/payments/{order['id']}/create").status_code == 409


# --- a worker killed, Redis down ------------------------------------------------------------


def test_a_worker_killed_while_processing_loses_no_notification(payments, products, app, app_redis):
    """SIGKILL mid-task. Recovery proven here: beat's sweep re-queues notifications still `received` after 30 s.

    (The task is acks_late and reject_on_worker_lost, so the broker would also redeliver it, but only after
    the Redis transport's visibility timeout of 900 s; the test does not wait for that.)
    """
    items = [(products["nasi"]["id"], 2), (products["teh"]["id"], 3)]
    order, mid, settlement = _paid_at_simulator_quietly(payments, items)
    payments.sim.faults(status_latency_ms=8000)  # the worker's status call hangs in the simulator

    assert payments.webhook(settlement).status_code == 200
    wait_for(lambda: [log.attempts for log in payments.webhook_logs(mid)] == [1], timeout=30,
             message="the worker to start processing")
    payments.worker.kill()

    [log] = payments.webhook_logs(mid)
    assert log.processing_status == "received"
    assert payments.order_status(order["id"])["status"] == "pending"

    payments.sim.faults(status_latency_ms=0)
    # The replacement worker asks Midtrans about quiet attempts only after an hour, so what pays
    # the order below is the lost notification itself, re-queued by the sweep.
    replacement = Worker(dict(payments.worker.env, PAYMENT_RECONCILE_GRACE_SECONDS="3600"),
                         log_name="payments-worker-replacement.log").start()
    try:
        # Time passing, without the wait: the dead worker's per-order lock runs out (its 60 s TTL),
        # and the notification becomes older than the sweep's 30 s.
        for key in app_redis.scan_iter(f"lock:midtrans:{mid}"):
            app_redis.pexpire(key, 1)
        payments.backdate_notifications(seconds=60)
        counts = replacement.reconcile()
        assert counts["requeued_notifications"] == 1 and counts["reconcile"] == 0

        [log] = payments.wait_logs_done(mid)
        assert log.processing_status == "processed" and log.attempts == 2
        assert "pending -> paid" in log.outcome
    finally:
        replacement.stop()
    _assert_paid_once(payments, order, products, app)


def test_the_webhook_answers_while_redis_is_down_and_the_notification_is_processed_after(
        payments, products, app):
    """Redis (broker, locks, limits) goes away; Midtrans's notifications still get a 2xx within its wait.

    The simulator plays Midtrans: it waits SIMULATOR_NOTIFY_TIMEOUT (15 s, Midtrans's figure) for an
    answer and retries on anything else, so its delivery log says whether the webhook answered in time.
    """
    redis_server = RedisServer().start()
    port = free_port()
    env = stack_env(app, sim_url=payments.sim.url, api_url=f"http://127.0.0.1:{port}",
                    redis_url=f"{redis_server.url}/0", broker_url=f"{redis_server.url}/1",
                    # Only the re-queued notifications, not the check of quiet attempts, can pay it here.
                    PAYMENT_RECONCILE_GRACE_SECONDS="3600")
    server = worker = None
    try:
        server = ApiServer(env, port, log_name="payments-api-redis-outage.log").start()
        worker = Worker(env, log_name="payments-worker-redis-outage.log").start()
        http = requests.Session()
        lines = [{"product_id": products["nasi"]["id"], "qty": 2}, {"product_id": products["teh"]["id"], "qty": 3}]
        placed = http.post(f"{server.url}/api/orders", json={"customer": {"name": "Budi", "phone": "081298765432"},
                                                            "items": lines}, timeout=30)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        created = http.post(f"{server.url}/api/payments/{order['id']}/create", timeout=30)
        assert created.status_code in (201, 202)
        mid = midtrans_order_id(order["id"])
        wait_for(lambda: payments.attempts(order["id"])[0].status == "pending", timeout=30, message="the Snap token")

        redis_server.stop()
        payments.sim.pay(mid)  # the customer pays: Midtrans notifies pending, then settlement

        def delivered():
            found = [d for d in payments.sim.deliveries(mid)["deliveries"] if d["finished_at"]]
            return found if len(found) >= 2 else None

        deliveries = wait_for(delivered, timeout=60, message="the simulator's two deliveries")
        assert [(d["transaction_status"], d["attempt"], d["outcome"], d["http_status"]) for d in deliveries] == [
            ("pending", 1, "delivered", 200), ("settlement", 1, "delivered", 200)]
        logs = payments.webhook_logs(mid)
        assert [(log.transaction_status, log.processing_status, log.signature_valid) for log in logs] == [
            ("pending", "received", True), ("settlement", "received", True)]
        assert payments.order_row(order["id"]).status == "pending"

        redis_server = RedisServer(port=redis_server.port).start()  # back, and empty: the tasks were never queued
        payments.backdate_notifications(seconds=60)
        counts = worker.run("payments.reconcile", timeout=90)
        assert counts["requeued_notifications"] == 2 and counts["reconcile"] == 0
        logs = payments.wait_logs_done(mid, timeout=60)
        assert [log.processing_status for log in logs] == ["processed", "processed"]
        assert sum("-> paid" in log.outcome for log in logs) == 1
        status = http.get(f"{server.url}/api/orders/{order['id']}/status", timeout=30).json()
        assert status["status"] == "paid"
        assert payments.movements(order["id"], "order_release") == []
    finally:
        if worker:
            worker.stop()
        if server:
            server.stop()
        redis_server.stop()
