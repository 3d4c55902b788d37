"""Stock takes: counted quantities become `stock_take` movements, applied once by a Celery task.

What the apply does when stock moved between the count and the apply: it sets
each product to what was counted, measured against the stock held at apply
time (`expected`), so sales or adjustments in between are overwritten by the
count. The test `test_apply_sets_the_count_even_if_stock_moved_after_counting`
pins that down.
"""

import json

import pytest
from sqlalchemy import insert, select

from app.catalog.models import Product
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement, StockTake, StockTakeLine
from app.inventory.schemas import MAX_STOCK_TAKE_LINES
from app.inventory.stock_takes import apply_stock_take
from app.models import utcnow
from app.stores.models import default_store
from tasks.inventory import apply_stock_take as apply_stock_take_task
from tests.api.test_stock import assert_ledger_consistent
from tests.helpers import assert_error, count_rows, wait_for


@pytest.fixture
def manager(auth_headers):
    return auth_headers("admin")


def add_products(app, stocks, prefix="ST"):
    """Insert products with opening stock straight into the tables (levels and `initial` movements
    included, so the ledger holds); returns their ids in order. A stock of None leaves no level."""
    with app.app_context():
        store_id = default_store().id
        ids = db.session.scalars(
            insert(Product).returning(Product.id, sort_by_parameter_order=True),
            [{"sku": f"{prefix}-{index:05d}", "name": f"Barang {index}", "price_idr": 1_000} for index in range(len(stocks))],
        ).all()
        stocked = [(product_id, stock) for product_id, stock in zip(ids, stocks) if stock is not None]
        if stocked:
            now = utcnow()
            db.session.execute(
                insert(StockLevel),
                [{"store_id": store_id, "product_id": pid, "quantity": stock, "updated_at": now} for pid, stock in stocked],
            )
            db.session.execute(
                insert(StockMovement),
                [
                    {"store_id": store_id, "product_id": pid, "delta": stock, "balance_after": stock, "reason": "initial",
                     "reference": f"product:{pid}", "created_at": now}
                    for pid, stock in stocked if stock
                ],
            )
        db.session.commit()
        return list(ids)


def record_stock_take(app, counts):
    """A pending stock take written straight to the tables, so no task is sent for it."""
    with app.app_context():
        stock_take = StockTake(store_id=default_store().id, status="pending", line_count=len(counts))
        db.session.add(stock_take)
        db.session.flush()
        db.session.add_all(StockTakeLine(stock_take_id=stock_take.id, product_id=pid, counted=counted)
                           for pid, counted in counts.items())
        db.session.commit()
        return stock_take.id


def levels(app, product_ids):
    with app.app_context():
        held = dict(db.session.execute(
            select(StockLevel.product_id, StockLevel.quantity).where(StockLevel.product_id.in_(product_ids))
        ).all())
    return [held.get(pid) for pid in product_ids]


def stock_take_movements(app, stock_take_id):
    """The stock take's movements in product order (a product first stocked by the take is written last)."""
    with app.app_context():
        return [
            (movement.id, movement.product_id, movement.delta, movement.balance_after)
            for movement in db.session.scalars(
                select(StockMovement).where(StockMovement.reference == f"stock_take:{stock_take_id}")
                .order_by(StockMovement.product_id)
            )
        ]


def status_of(app, stock_take_id):
    with app.app_context():
        return db.session.scalar(select(StockTake.status).where(StockTake.id == stock_take_id))


def table_counts(app):
    with app.app_context():
        return {"takes": count_rows(StockTake), "lines": count_rows(StockTakeLine), "movements": count_rows(StockMovement)}


# --- recording a count -----------------------------------------------------------


def test_post_records_the_count_and_answers_202_pending(app, client, manager, celery_worker):
    ids = add_products(app, [4, 2])
    before = table_counts(app)

    response = client.post(
        "/api/stock-takes",
        json={"counts": [{"product_id": ids[0], "counted": 3}, {"product_id": ids[1], "counted": 2}], "note": "Rak depan"},
        headers=manager,
    )

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] in ("pending", "applied")  # a worker from an earlier test may already be running
    assert (body["line_count"], body["note"]) == (2, "Rak depan")
    with app.app_context():
        assert dict(db.session.execute(
            select(StockTakeLine.product_id, StockTakeLine.counted).where(StockTakeLine.stock_take_id == body["id"])
        ).all()) == {ids[0]: 3, ids[1]: 2}
    assert table_counts(app)["takes"] == before["takes"] + 1
    # The worker applies it; waiting here also keeps its transaction out of the next test's clean-up.
    wait_for(lambda: status_of(app, body["id"]) == "applied", message="the worker to apply the stock take")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-counts"),
        pytest.param({"counts": []}, id="empty-counts"),
        pytest.param({"counts": None}, id="null-counts"),
        pytest.param({"counts": "all"}, id="string-counts"),
        pytest.param({"counts": [{"product_id": "FIRST-AS-TEXT", "counted": 1}]}, id="product-id-as-text"),
        pytest.param({"counts": [{"product_id": "FIRST"}]}, id="no-counted"),
        pytest.param({"counts": [{"counted": 1}]}, id="no-product-id"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": -1}]}, id="negative"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": 1.5}]}, id="fraction"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": 2.0}]}, id="float"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": "3"}]}, id="counted-as-text"),
        pytest.param({"counts": [{"product_id": 0, "counted": 3}]}, id="product-id-zero"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": 3, "expected": 5}]}, id="unknown-line-field"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": 1}], "status": "applied"}, id="unknown-field"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": 1}, {"product_id": "FIRST", "counted": 2}]},
                     id="duplicate-product"),
        pytest.param({"counts": [{"product_id": "FIRST", "counted": 1}, {"product_id": 0, "counted": 2}]},
                     id="one-bad-line"),
    ],
)
def test_bad_count_is_422_and_nothing_is_created(app, client, manager, body):
    [first] = add_products(app, [5])
    body = json.loads(json.dumps(body).replace('"FIRST"', str(first)).replace("FIRST-AS-TEXT", str(first)))
    before = table_counts(app)

    response = client.post("/api/stock-takes", json=body, headers=manager)

    assert_error(response, 422)
    assert table_counts(app) == before
    assert levels(app, [first]) == [5]


def test_duplicate_products_are_named(client, app, manager):
    first, second = add_products(app, [1, 1])

    response = client.post(
        "/api/stock-takes",
        json={"counts": [{"product_id": first, "counted": 1}, {"product_id": second, "counted": 1},
                         {"product_id": first, "counted": 2}]},
        headers=manager,
    )

    body = assert_error(response, 422)
    assert str(first) in json.dumps(body["errors"])
    assert table_counts(app)["takes"] == 0


def test_unknown_products_are_422_named_and_nothing_is_created(app, client, manager):
    [known] = add_products(app, [5])

    response = client.post(
        "/api/stock-takes",
        json={"counts": [{"product_id": known, "counted": 1}, {"product_id": 999_999, "counted": 1},
                         {"product_id": 888_888, "counted": 0}]},
        headers=manager,
    )

    body = assert_error(response, 422)
    assert body["errors"]["json"]["counts"]["unknown_product_ids"] == [999_999, 888_888]
    assert table_counts(app) == {"takes": 0, "lines": 0, "movements": 1}
    assert levels(app, [known]) == [5]


def test_more_lines_than_allowed_is_422(app, client, manager):
    counts = [{"product_id": index, "counted": 1} for index in range(1, MAX_STOCK_TAKE_LINES + 2)]

    response = client.post("/api/stock-takes", json={"counts": counts}, headers=manager)

    assert_error(response, 422)
    assert table_counts(app)["takes"] == 0


def test_unknown_stock_take_is_404(client, manager):
    assert_error(client.get("/api/stock-takes/999999", headers=manager), 404)


# --- applying (the service the task calls) -----------------------------------------------


def test_apply_sets_each_product_to_its_count_with_one_movement_per_change(app, client, manager):
    ids = add_products(app, [10, 5, None, 7, None])
    counts = dict(zip(ids, [8, 5, 3, 9, 0]))
    stock_take_id = record_stock_take(app, counts)

    pending = client.get(f"/api/stock-takes/{stock_take_id}", headers=manager).get_json()
    assert (pending["status"], pending["applied_at"], pending["changed_lines"]) == ("pending", None, 0)
    assert all(line["expected"] is None and line["difference"] is None for line in pending["lines"])

    with app.app_context():
        apply_stock_take(stock_take_id)

    assert levels(app, ids) == [8, 5, 3, 9, None]
    assert [(pid, delta, after) for _, pid, delta, after in stock_take_movements(app, stock_take_id)] == [
        (ids[0], -2, 8), (ids[2], 3, 3), (ids[3], 2, 9),
    ]
    applied = client.get(f"/api/stock-takes/{stock_take_id}", headers=manager).get_json()
    assert applied["status"] == "applied"
    assert applied["applied_at"].endswith("+00:00")
    assert applied["changed_lines"] == 3
    assert [(line["product_id"], line["counted"], line["expected"], line["difference"]) for line in applied["lines"]] == [
        (ids[0], 8, 10, -2), (ids[1], 5, 5, 0), (ids[2], 3, 0, 3), (ids[3], 9, 7, 2), (ids[4], 0, 0, 0),
    ]
    movement_list = client.get(f"/api/products/{ids[0]}/stock-movements", headers=manager).get_json()
    assert (movement_list[0]["reason"], movement_list[0]["reference"]) == ("stock_take", f"stock_take:{stock_take_id}")
    assert_ledger_consistent(app)


def test_applying_twice_changes_stock_once(app):
    ids = add_products(app, [10, 0, 4])
    stock_take_id = record_stock_take(app, dict(zip(ids, [6, 2, 4])))

    with app.app_context():
        assert apply_stock_take(stock_take_id).status == "applied"
    first = stock_take_movements(app, stock_take_id)
    with app.app_context():
        assert apply_stock_take(stock_take_id).status == "applied"

    assert stock_take_movements(app, stock_take_id) == first
    assert len(first) == 2
    assert levels(app, ids) == [6, 2, 4]
    assert_ledger_consistent(app)


def test_apply_sets_the_count_even_if_stock_moved_after_counting(app, client, manager):
    """Documented behaviour: the count wins; what moved between count and apply is absorbed in the difference."""
    [product] = add_products(app, [12])
    stock_take_id = record_stock_take(app, {product: 10})
    sold = client.post(f"/api/products/{product}/stock-adjustments", json={"delta": -5}, headers=manager)
    assert sold.status_code == 201

    with app.app_context():
        apply_stock_take(stock_take_id)

    assert levels(app, [product]) == [10]
    [line] = client.get(f"/api/stock-takes/{stock_take_id}", headers=manager).get_json()["lines"]
    assert (line["counted"], line["expected"], line["difference"]) == (10, 7, 3)
    assert [(delta, after) for _, _, delta, after in stock_take_movements(app, stock_take_id)] == [(3, 10)]
    assert_ledger_consistent(app)


def test_list_is_newest_first_and_filters_by_status(app, client, manager):
    [product] = add_products(app, [1])
    older = record_stock_take(app, {product: 1})
    newer = record_stock_take(app, {product: 2})
    with app.app_context():
        apply_stock_take(older)

    listed = client.get("/api/stock-takes", headers=manager)
    assert listed.status_code == 200
    assert [take["id"] for take in listed.get_json()] == [newer, older]
    assert "X-Pagination" in listed.headers
    assert [t["id"] for t in client.get("/api/stock-takes?status=applied", headers=manager).get_json()] == [older]
    assert [t["id"] for t in client.get("/api/stock-takes?status=pending", headers=manager).get_json()] == [newer]
    assert_error(client.get("/api/stock-takes?status=done", headers=manager), 422)


# --- through the real worker ---------------------------------------------------------


def test_task_sent_twice_to_the_worker_applies_once(app, client, manager, app_redis, celery_worker):
    ids = add_products(app, [9, 3])
    stock_take_id = record_stock_take(app, dict(zip(ids, [4, 5])))

    first = apply_stock_take_task.apply_async(args=[stock_take_id])
    second = apply_stock_take_task.apply_async(args=[stock_take_id])
    first.get(timeout=30)
    second.get(timeout=30)

    assert client.get(f"/api/stock-takes/{stock_take_id}", headers=manager).get_json()["status"] == "applied"
    assert [(pid, delta) for _, pid, delta, _ in stock_take_movements(app, stock_take_id)] == [(ids[0], -5), (ids[1], 2)]
    assert levels(app, ids) == [4, 5]
    assert app_redis.exists(f"lock:stock_take:{stock_take_id}") == 0
    assert_ledger_consistent(app)


def test_a_count_of_thousands_of_products_is_applied_by_the_worker(app, client, manager, celery_worker):
    size = 5_000
    ids = add_products(app, [index % 7 for index in range(size)], prefix="BIG")
    counted = [index % 5 for index in range(size)]
    changed = {pid: count - index % 7 for index, (pid, count) in enumerate(zip(ids, counted)) if count != index % 7}

    response = client.post(
        "/api/stock-takes",
        json={"counts": [{"product_id": pid, "counted": count} for pid, count in zip(ids, counted)]},
        headers=manager,
    )

    assert response.status_code == 202
    stock_take_id = response.get_json()["id"]
    wait_for(lambda: status_of(app, stock_take_id) != "pending", timeout=120, interval=0.2,
             message="the 5000-line stock take to be applied")
    detail = client.get(f"/api/stock-takes/{stock_take_id}", headers=manager).get_json()
    assert detail["status"] == "applied", detail.get("error")
    assert detail["line_count"] == size
    assert detail["changed_lines"] == len(changed)
    assert {line["product_id"]: (line["expected"], line["difference"]) for line in detail["lines"]} == {
        pid: (index % 7, counted[index] - index % 7) for index, pid in enumerate(ids)
    }
    movements = stock_take_movements(app, stock_take_id)
    assert {pid: delta for _, pid, delta, _ in movements} == changed
    assert len(movements) == len(changed)
    assert levels(app, ids) == counted
    assert assert_ledger_consistent(app) == dict(zip(ids, counted))
