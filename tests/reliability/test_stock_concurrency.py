"""Stock under concurrency: many requests at once never take stock below zero, never lose an update,
and keep the ledger whole. Each thread has its own test client (its own request, app context,
session and database connection), released together by a barrier."""

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import insert, select

from app.catalog.models import Product
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement, StockTake, StockTakeLine
from app.inventory.stock_takes import apply_stock_take
from app.stores.models import default_store
from tests.api.test_stock import assert_ledger_consistent
from tests.helpers import count_rows


def run_together(count, action):
    """Run `action(index)` in `count` threads released at once; returns their results in order."""
    barrier = threading.Barrier(count)
    results, failures = [None] * count, []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = action(index)
        except BaseException as error:  # reported below, so a thread's failure fails the test
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    assert not failures, failures
    return results


@pytest.fixture
def manager(auth_headers):
    return auth_headers("supervisor")


def create_product(client, headers, sku, **fields):
    response = client.post(
        "/api/products", json={"sku": sku, "name": f"Produk {sku}", "price_idr": 1_000, **fields}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def adjustment_by_each_thread(app, headers, product_id, deltas):
    def adjust(index):
        response = app.test_client().post(
            f"/api/products/{product_id}/stock-adjustments", json={"delta": deltas[index]}, headers=headers
        )
        return response.status_code, response.get_json()

    return run_together(len(deltas), adjust)


def stock_and_movements(app, product_id):
    with app.app_context():
        quantity = db.session.scalar(select(StockLevel.quantity).where(StockLevel.product_id == product_id))
        ledger = db.session.execute(
            select(StockMovement.delta, StockMovement.balance_after, StockMovement.reason)
            .where(StockMovement.product_id == product_id)
            .order_by(StockMovement.id)
        ).all()
    return quantity, [tuple(row) for row in ledger]


def test_fifty_concurrent_removals_from_twenty_units(app, client, manager):
    product = create_product(client, manager, "KOPI-1", initial_stock=20)

    results = adjustment_by_each_thread(app, manager, product["id"], [-1] * 50)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 20, 409: 30}
    assert sorted(body["balance_after"] for status, body in results if status == 201) == list(range(20))
    assert all(body["errors"]["stock"][0]["available"] == 0 for status, body in results if status == 409)
    quantity, ledger = stock_and_movements(app, product["id"])
    assert quantity == 0
    assert ledger == [(20, 20, "initial")] + [(-1, 19 - index, "adjustment") for index in range(20)]
    assert client.get(f"/api/products/{product['id']}", headers=manager).get_json()["stock"] == 0
    assert_ledger_consistent(app)


def test_concurrent_mixed_adjustments_lose_no_update(app, client, manager):
    product = create_product(client, manager, "KOPI-1", initial_stock=10)
    picker = random.Random(20261126)
    deltas = [picker.choice([-4, -3, -2, -1, 1, 2, 3]) for _ in range(50)]

    results = adjustment_by_each_thread(app, manager, product["id"], deltas)

    assert {status for status, _ in results} <= {201, 409}
    accepted = [delta for delta, (status, _) in zip(deltas, results) if status == 201]
    quantity, ledger = stock_and_movements(app, product["id"])
    assert quantity == 10 + sum(accepted)
    assert len(ledger) == 1 + len(accepted)
    assert sorted(delta for delta, _, _ in ledger[1:]) == sorted(accepted)
    assert all(balance >= 0 for _, balance, _ in ledger)
    # Every refusal was a removal bigger than what was left at that moment.
    assert all(delta < 0 for delta, (status, _) in zip(deltas, results) if status == 409)
    assert_ledger_consistent(app)


def test_concurrent_removals_across_two_products_keep_each_ledger(app, client, manager):
    first = create_product(client, manager, "KOPI-1", initial_stock=15)
    second = create_product(client, manager, "TEH-1", initial_stock=5)

    def adjust(index):
        product_id = first["id"] if index % 2 else second["id"]
        return app.test_client().post(
            f"/api/products/{product_id}/stock-adjustments", json={"delta": -1}, headers=manager
        ).status_code

    statuses = run_together(40, adjust)

    assert Counter(statuses) == {201: 20, 409: 20}
    assert stock_and_movements(app, first["id"])[0] == 0
    assert stock_and_movements(app, second["id"])[0] == 0
    assert_ledger_consistent(app)


def test_concurrent_creates_of_one_sku_make_one_product_and_answer_409_to_the_rest(app, manager):
    def create(index):
        response = app.test_client().post(
            "/api/products",
            json={"sku": "KOPI-1", "name": f"Kopi {index}", "price_idr": 1_000, "initial_stock": 3},
            headers=manager,
        )
        return response.status_code

    statuses = run_together(12, create)

    assert Counter(statuses) == {201: 1, 409: 11}
    with app.app_context():
        assert count_rows(Product) == 1
        assert count_rows(StockMovement) == 1
    assert_ledger_consistent(app)


def record_stock_take(app, counts):
    with app.app_context():
        stock_take = StockTake(store_id=default_store().id, status="pending", line_count=len(counts))
        db.session.add(stock_take)
        db.session.flush()
        db.session.execute(
            insert(StockTakeLine),
            [{"stock_take_id": stock_take.id, "product_id": pid, "counted": counted} for pid, counted in counts.items()],
        )
        db.session.commit()
        return stock_take.id


def test_one_stock_take_applied_by_several_workers_at_once_applies_once(app, client, manager):
    products = [create_product(client, manager, f"P-{index}", initial_stock=10)["id"] for index in range(20)]
    stock_take_id = record_stock_take(app, {pid: index for index, pid in enumerate(products)})

    def apply(_):
        with app.app_context():
            return apply_stock_take(stock_take_id).status

    assert run_together(6, apply) == ["applied"] * 6
    with app.app_context():
        assert count_rows(StockMovement, StockMovement.reference == f"stock_take:{stock_take_id}") == 19
        assert dict(db.session.execute(select(StockLevel.product_id, StockLevel.quantity)).all()) == {
            pid: index for index, pid in enumerate(products)
        }
    assert_ledger_consistent(app)


def test_stock_takes_and_adjustments_at_once_keep_the_ledger(app, client, manager):
    """Overlapping stock takes (products in different orders) and adjustments run together:
    no deadlock, no lost update, and each stock take movement lands exactly on its count."""
    products = [create_product(client, manager, f"P-{index}", initial_stock=50)["id"] for index in range(30)]
    takes = [
        record_stock_take(app, {pid: 40 for pid in products[:20]}),
        record_stock_take(app, {pid: 45 for pid in reversed(products[10:])}),
    ]

    def work(index):
        if index < len(takes):
            with app.app_context():
                return apply_stock_take(takes[index]).status
        product_id = products[index % len(products)]
        return app.test_client().post(
            f"/api/products/{product_id}/stock-adjustments", json={"delta": -1 if index % 3 else 2}, headers=manager
        ).status_code

    results = run_together(32, work)

    assert results[:2] == ["applied", "applied"]
    assert set(results[2:]) == {201}
    with app.app_context():
        for stock_take_id, counted in zip(takes, (40, 45)):
            balances = db.session.scalars(
                select(StockMovement.balance_after).where(StockMovement.reference == f"stock_take:{stock_take_id}")
            ).all()
            assert balances and set(balances) == {counted}
    assert_ledger_consistent(app)
