"""Checkouts, refunds and voids at the same moment from many tills.

Each thread has its own test client (its own request, app context, session and
database connection); a barrier releases them together. What is checked is
the outcome every till sees and the rows left behind, never how long it took.
"""

import threading
from collections import Counter

from sqlalchemy import select

from app.extensions import db
from app.inventory.models import StockMovement
from app.sales.models import Refund, Sale, SaleItem
from tests.api.test_checkout import (
    NUMBER,
    add_stock,
    create_product,
    movements,
    row_counts,
    sold,
    stock_of,
    today_in_store,
)
from tests.api.test_stock import assert_ledger_consistent
from tests.helpers import count_rows


def run_together(app, count, action):
    """`action(client, index)` in `count` threads released at once; returns (status, body, headers) in order."""
    barrier = threading.Barrier(count)
    results, failures = [None] * count, []

    def run(index):
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            response = action(client, index)
            results[index] = (response.status_code, response.get_json(), response.headers)
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


def checkout_body(items, **fields):
    return {"items": [{"product_id": pid, "qty": qty} for pid, qty in items],
            "payments": [{"method": "cash", "amount_idr": 1_000_000}], **fields}


def statuses(results):
    return Counter(status for status, _, _ in results)


# --- stock ---------------------------------------------------------------------


def test_forty_tills_selling_the_last_ten_units_sell_exactly_ten(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=10)
    body = checkout_body([(coffee["id"], 1)])

    results = run_together(app, 40, lambda till, _: till.post("/api/sales", json=body, headers=manager))

    assert statuses(results) == {201: 10, 409: 30}, statuses(results)
    for status, answer, _ in results:
        if status == 409:
            assert answer["errors"]["stock"] == [
                {"product_id": coffee["id"], "name": "Produk KOPI-1", "requested": 1, "available": 0}
            ]
            assert "Produk KOPI-1" in answer["message"]
    assert stock_of(app, coffee["id"]) == 0
    sale_moves = movements(app, "sale")
    assert len(sale_moves) == 10
    assert all(delta == -1 for _, delta, _ in sale_moves)
    sold_ids = {answer["id"] for status, answer, _ in results if status == 201}
    assert {reference for _, _, reference in sale_moves} == {f"sale:{sale_id}" for sale_id in sold_ids}
    counts = row_counts(app)
    assert (counts["sales"], counts["sale_items"], counts["sale_payments"]) == (10, 10, 10)
    assert_ledger_consistent(app)


def test_tills_selling_two_products_in_opposite_orders_do_not_deadlock(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=100)
    bread = create_product(client, manager, "ROTI-1", price_idr=7_500, stock=100)
    orders = [checkout_body([(coffee["id"], 1), (bread["id"], 2)]), checkout_body([(bread["id"], 2), (coffee["id"], 1)])]

    results = run_together(app, 20, lambda till, index: till.post("/api/sales", json=orders[index % 2],
                                                                   headers=manager))

    assert statuses(results) == {201: 20}, [answer for status, answer, _ in results if status != 201]
    assert (stock_of(app, coffee["id"]), stock_of(app, bread["id"])) == (80, 60)
    assert len(movements(app, "sale")) == 40
    assert_ledger_consistent(app)


# --- Idempotency-Key -----------------------------------------------------------


def test_ten_concurrent_duplicates_with_one_key_make_one_sale(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=50)
    body = checkout_body([(coffee["id"], 2)])
    headers = dict(manager, **{"Idempotency-Key": "till-3-0042"})

    results = run_together(app, 10, lambda till, _: till.post("/api/sales", json=body, headers=headers))

    first = [answer for status, answer, sent in results if status == 201 and "Idempotent-Replayed" not in sent]
    replays = [answer for status, answer, sent in results if status == 201 and "Idempotent-Replayed" in sent]
    busy = [answer for status, answer, _ in results if status == 409]
    assert len(first) == 1, results
    assert len(first) + len(replays) + len(busy) == 10, statuses(results)
    assert all(replay["id"] == first[0]["id"] for replay in replays)
    assert all("Idempotency-Key" in answer["message"] for answer in busy)
    counts = row_counts(app)
    assert (counts["sales"], counts["stock_movements"] - 1, counts["idempotency_keys"]) == (1, 1, 1)
    assert stock_of(app, coffee["id"]) == 48

    # Once the first has finished, the same key answers with the same sale.
    again = client.post("/api/sales", json=body, headers=headers)
    assert (again.status_code, again.get_json()["id"], again.headers["Idempotent-Replayed"]) == (
        201, first[0]["id"], "true"
    )
    assert row_counts(app) == counts


def test_a_key_refused_for_stock_works_once_stock_arrives_even_when_sent_by_many(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=1)
    body = checkout_body([(coffee["id"], 3)])
    headers = dict(manager, **{"Idempotency-Key": "till-3-0043"})

    refused = run_together(app, 5, lambda till, _: till.post("/api/sales", json=body, headers=headers))
    assert set(statuses(refused)) <= {409}
    assert row_counts(app)["sales"] == 0 and row_counts(app)["idempotency_keys"] == 0

    add_stock(client, manager, coffee["id"], 5)
    results = run_together(app, 5, lambda till, _: till.post("/api/sales", json=body, headers=headers))

    created = [answer["id"] for status, answer, _ in results if status == 201]
    assert len(set(created)) == 1 and statuses(results)[201] >= 1, results
    assert row_counts(app)["sales"] == 1
    assert stock_of(app, coffee["id"]) == 3


# --- sale numbers --------------------------------------------------------------


def test_twenty_concurrent_checkouts_get_twenty_different_numbers_in_order(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=1_000, stock=100)
    body = checkout_body([(coffee["id"], 1)])
    before = int(NUMBER.match(sold(client, manager, [(coffee["id"], 1)])["number"]).group(2))

    results = run_together(app, 20, lambda till, _: till.post("/api/sales", json=body, headers=manager))

    assert statuses(results) == {201: 20}, results
    numbers = [answer["number"] for _, answer, _ in results]
    parsed = [NUMBER.match(number) for number in numbers]
    assert all(parsed), numbers
    assert {match.group(1) for match in parsed} == {f"{today_in_store():%Y%m%d}"}
    assert sorted(int(match.group(2)) for match in parsed) == list(range(before + 1, before + 21))
    after = int(NUMBER.match(sold(client, manager, [(coffee["id"], 1)])["number"]).group(2))
    assert after > before + 20
    with app.app_context():
        assert len(set(db.session.scalars(select(Sale.number)))) == 22


# --- refunds and voids ---------------------------------------------------------


def test_concurrent_refunds_of_one_line_never_exceed_its_quantity(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=3_334, stock=10)
    sale = sold(client, manager, [(coffee["id"], 3)], discount_idr=2)  # total 10000 over 3 units
    line_id = sale["items"][0]["id"]
    body = {"items": [{"sale_item_id": line_id, "qty": 1}], "reason": "Retur"}

    results = run_together(app, 12, lambda till, _: till.post(f"/api/sales/{sale['id']}/refunds", json=body,
                                                          headers=manager))

    assert statuses(results) == {201: 3, 409: 9}, statuses(results)
    assert sorted(answer["amount_idr"] for status, answer, _ in results if status == 201) == [3_333, 3_333, 3_334]
    with app.app_context():
        item = db.session.get(SaleItem, line_id)
        assert (item.refunded_qty, item.refunded_idr) == (3, 10_000)
        row = db.session.get(Sale, sale["id"])
        assert (row.status, row.refunded_idr) == ("refunded", 10_000)
        assert count_rows(Refund) == 3
        returned = db.session.scalars(select(StockMovement.delta).where(StockMovement.reason == "refund")).all()
    assert sorted(returned) == [1, 1, 1]
    assert stock_of(app, coffee["id"]) == 10
    assert_ledger_consistent(app)


def test_concurrent_refunds_asking_two_units_each_never_exceed_the_line(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=1_000, stock=10)
    sale = sold(client, manager, [(coffee["id"], 5)])
    body = {"items": [{"sale_item_id": sale["items"][0]["id"], "qty": 2}], "reason": "Retur"}

    results = run_together(app, 6, lambda till, _: till.post(f"/api/sales/{sale['id']}/refunds", json=body,
                                                         headers=manager))

    # 2 + 2 fit in 5; a third 2 would not.
    assert statuses(results) == {201: 2, 409: 4}, statuses(results)
    with app.app_context():
        assert db.session.get(SaleItem, sale["items"][0]["id"]).refunded_qty == 4
    assert stock_of(app, coffee["id"]) == 9


def test_concurrent_voids_of_one_sale_return_its_stock_once(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=1_000, stock=10)
    sale = sold(client, manager, [(coffee["id"], 4)])

    results = run_together(app, 8, lambda till, _: till.post(f"/api/sales/{sale['id']}/void",
                                                              json={"reason": "Batal"}, headers=manager))

    assert statuses(results) == {200: 1, 409: 7}, statuses(results)
    assert movements(app, "void") == [(coffee["id"], 4, f"sale:{sale['id']}")]
    assert stock_of(app, coffee["id"]) == 10
    assert_ledger_consistent(app)


def test_a_void_racing_refunds_leaves_one_consistent_outcome(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=1_000, stock=10)
    sale = sold(client, manager, [(coffee["id"], 4)])
    refund_body = {"items": [{"sale_item_id": sale["items"][0]["id"], "qty": 1}], "reason": "Retur"}

    def void_or_refund(till, index):
        if index == 0:
            return till.post(f"/api/sales/{sale['id']}/void", json={"reason": "Batal"}, headers=manager)
        return till.post(f"/api/sales/{sale['id']}/refunds", json=refund_body, headers=manager)

    results = run_together(app, 5, void_or_refund)

    void_status = results[0][0]
    refunds_made = sum(1 for status, _, _ in results[1:] if status == 201)
    assert set(statuses(results)) <= {200, 201, 409}, results
    with app.app_context():
        row = db.session.get(Sale, sale["id"])
        if void_status == 200:
            assert (refunds_made, row.status, row.refunded_idr) == (0, "voided", 0)
        else:
            assert refunds_made >= 1 and row.status in ("partially_refunded", "refunded")
            assert row.refunded_idr == refunds_made * 1_000
    assert stock_of(app, coffee["id"]) == 6 + (4 if void_status == 200 else refunds_made)
    assert_ledger_consistent(app)
