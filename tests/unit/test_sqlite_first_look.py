"""The till works on SQLite, the zero-setup first look, not only on PostgreSQL.

The hot paths have a PostgreSQL statement and a portable branch that only
SQLite runs: sale numbering by counter row, plain INSERTs for the sale and
its Idempotency-Key record, conditional stock UPDATEs and missing stock
levels, the products-and-store read, the signed-in user's lookup. The rest
of the suite runs on PostgreSQL, so this module builds the real schema on a
fresh SQLite file with the migrations, lets a cashier and a supervisor go
through one day at the till (tests/sqlite_till.py, in a process of its own)
and checks what they saw and what the file holds afterwards.
"""

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.sqlite_till import CASHIER, row_counts

ROOT = Path(__file__).resolve().parents[2]


def run_in_app_env(env, *args):
    finished = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-4000:]
    return finished.stdout


def run_on_fresh_sqlite(database, test_config, module):
    """Migrate a fresh SQLite file and run the till script `module` on it; returns what the till saw."""
    # This run's own Redis databases, so nothing of another run is touched.
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": test_config.REDIS_URL,
        "CELERY_BROKER_URL": test_config.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": test_config.CELERY_RESULT_BACKEND,
    }
    run_in_app_env(env, "-m", "flask", "--app", "wsgi", "db", "upgrade")
    printed = run_in_app_env(env, "-m", module)
    return json.loads(printed.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def first_look(tmp_path_factory, test_config):
    """Migrate a fresh SQLite file, spend a day at the till on it; returns (what the till saw, the file)."""
    database = tmp_path_factory.mktemp("first-look") / "pos.sqlite3"
    return run_on_fresh_sqlite(database, test_config, "tests.sqlite_till"), database


@pytest.fixture(scope="module")
def seen(first_look):
    return first_look[0]


@pytest.fixture(scope="module")
def database(first_look):
    return first_look[1]


def step(seen, name):
    """One step of the day; fails with the till's own traceback when the day stopped before it."""
    stopped_by = seen.get("stopped_by") or ""
    if name not in seen:
        pytest.fail(f"the till never got to {name!r}; it stopped with:\n{stopped_by}")
    return seen[name]


def why(answer):
    """What to show when a status is not the one expected: the app's traceback for a 500, else the body."""
    return "\n".join(answer.get("logged", [])) or answer["body"]


def today_in_store():
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def by_reason(movements, reason):
    return [movement for movement in movements if movement["reason"] == reason]


# --- the morning ------------------------------------------------------------------


def test_the_day_starts_with_the_opening_stock_and_no_level_for_a_product_without_stock(seen):
    opening = step(seen, "opening")

    assert opening["stock"] == {"kopi": 10, "roti": 5, "teh": 0}
    assert opening["rows"]["stock_levels"] == 2
    assert opening["rows"]["stock_movements"] == 2
    assert opening["rows"]["sales"] == 0


def test_receiving_stock_creates_the_missing_stock_level(seen):
    opening, adjustment = step(seen, "opening"), step(seen, "adjustment")

    assert adjustment["status"] == 201, why(adjustment)
    assert (adjustment["body"]["delta"], adjustment["body"]["balance_after"]) == (5, 5)
    assert adjustment["stock"] == {**opening["stock"], "teh": 5}
    assert adjustment["rows"]["stock_levels"] == opening["rows"]["stock_levels"] + 1
    [movement] = adjustment["movements"]
    assert (movement["reason"], movement["delta"], movement["balance_after"]) == ("adjustment", 5, 5)


def test_me_finds_the_signed_in_cashier(seen):
    me = step(seen, "me")

    assert me["status"] == 200, why(me)
    assert (me["body"]["username"], me["body"]["role"]) == (CASHIER["username"], "cashier")


# --- at the till ------------------------------------------------------------------


def test_checkout_numbers_the_sale_gives_change_and_takes_stock(seen):
    before, checkout = step(seen, "adjustment"), step(seen, "checkout")
    products = seen["product_ids"]

    assert checkout["status"] == 201, why(checkout)
    sale = checkout["body"]
    assert checkout["replayed"] is None
    assert sale["business_date"] == today_in_store().isoformat()
    assert sale["number"] == f"S-{today_in_store():%Y%m%d}-0001"
    assert sale["status"] == "completed"
    assert sale["cashier"]["username"] == CASHIER["username"]
    assert sale["total_idr"] == 2 * 18_000 + 12_500
    assert sale["paid_idr"] == 50_000
    assert sale["change_idr"] == 50_000 - 48_500
    lines = [(item["product_id"], item["qty"]) for item in sale["items"]]
    assert lines == [(products["kopi"], 2), (products["roti"], 1)]
    item_ids = [item["id"] for item in sale["items"]]
    assert all(isinstance(item_id, int) for item_id in item_ids) and len(set(item_ids)) == 2
    assert sale["payments"] == [{"method": "cash", "amount_idr": 50_000, "reference": None}]
    assert checkout["stock"] == {"kopi": 10 - 2, "roti": 5 - 1, "teh": 5}
    for name, qty in (("kopi", 2), ("roti", 1)):
        [movement] = by_reason(checkout["movements"][name], "sale")
        assert movement["delta"] == -qty
        assert movement["balance_after"] == checkout["stock"][name]
        assert movement["reference"] == f"sale:{sale['id']}"
    rows = checkout["rows"]
    assert (rows["sales"], rows["sale_items"], rows["sale_payments"], rows["idempotency_keys"]) == (1, 2, 1, 1)
    assert rows["stock_movements"] == before["rows"]["stock_movements"] + 2


def test_the_same_key_and_body_replays_the_first_sale_and_writes_nothing(seen):
    checkout, replay = step(seen, "checkout"), step(seen, "replay")

    assert replay["status"] == 201, why(replay)
    assert replay["replayed"] == "true"
    assert replay["body"]["id"] == checkout["body"]["id"]
    assert replay["body"] == checkout["body"]
    assert replay["rows"] == checkout["rows"]
    assert replay["stock"] == checkout["stock"]


def test_the_same_key_with_another_body_is_422_and_writes_nothing(seen):
    checkout, reused = step(seen, "checkout"), step(seen, "key_reused")

    assert reused["status"] == 422, why(reused)
    assert reused["body"]["errors"] == {"headers": {"Idempotency-Key": ["Used with another request body."]}}
    assert reused["rows"] == checkout["rows"]
    assert reused["stock"] == checkout["stock"]


def test_a_checkout_without_a_key_takes_the_next_number(seen):
    checkout, second = step(seen, "checkout"), step(seen, "second")

    assert second["status"] == 201, why(second)
    assert second["body"]["number"] == f"S-{today_in_store():%Y%m%d}-0002"
    assert second["body"]["change_idr"] == 40_000 - 2 * 18_000
    assert second["stock"] == {**checkout["stock"], "kopi": checkout["stock"]["kopi"] - 2}
    assert second["rows"]["sales"] == 2
    assert second["rows"]["idempotency_keys"] == 1


def test_a_checkout_of_more_than_in_stock_is_409_naming_the_product_and_writes_nothing(seen):
    second, refused = step(seen, "second"), step(seen, "too_many")

    assert refused["status"] == 409, why(refused)
    assert "Roti" in refused["body"]["message"]
    assert refused["body"]["errors"]["stock"] == [
        {"product_id": seen["product_ids"]["roti"], "name": "Roti", "requested": 5, "available": 4}
    ]
    # Kopi had enough: its unit must not have gone either.
    assert refused["stock"] == second["stock"]
    assert refused["rows"] == second["rows"]


# --- the supervisor ---------------------------------------------------------------


def test_a_void_returns_the_stock_once(seen):
    refused, void, again = step(seen, "too_many"), step(seen, "void"), step(seen, "void_again")

    assert void["status"] == 200, why(void)
    assert void["body"]["status"] == "voided"
    assert void["stock"] == {"kopi": 6 + 2, "roti": 4 + 1, "teh": 5}
    assert void["rows"]["stock_movements"] == refused["rows"]["stock_movements"] + 2
    assert again["status"] == 409, why(again)
    assert "already voided" in again["body"]["message"]
    assert again["stock"] == void["stock"]
    assert again["rows"] == void["rows"]


def test_a_refund_returns_one_unit_and_never_more_than_was_sold(seen):
    void, refund, too_much = step(seen, "void_again"), step(seen, "refund"), step(seen, "over_refund")

    assert refund["status"] == 201, why(refund)
    assert refund["body"]["amount_idr"] == 18_000
    refunded = [(line["product_id"], line["qty"]) for line in refund["body"]["items"]]
    assert refunded == [(seen["product_ids"]["kopi"], 1)]
    assert refund["stock"] == {**void["stock"], "kopi": void["stock"]["kopi"] + 1}
    assert too_much["status"] == 409, why(too_much)
    assert too_much["stock"] == refund["stock"]
    assert too_much["rows"] == refund["rows"]


# --- what the file holds ----------------------------------------------------------


def test_the_database_holds_exactly_the_rows_of_the_day(seen, database):
    step(seen, "over_refund")  # the whole day ran
    first_sale, second_sale = seen["checkout"]["body"]["id"], seen["second"]["body"]["id"]

    assert row_counts(database) == {
        "sales": 2, "sale_items": 3, "sale_payments": 2, "sale_counters": 1, "stock_levels": 3,
        "stock_movements": 9, "refunds": 1, "idempotency_keys": 1,
    }
    with sqlite3.connect(database) as connection:
        statuses = dict(connection.execute("SELECT id, status FROM sales"))
        # The refused checkout gave its number back with everything else.
        [(last_number,)] = connection.execute("SELECT last_number FROM sale_counters").fetchall()
        [(key_resource,)] = connection.execute("SELECT resource_id FROM idempotency_keys").fetchall()
        levels = dict(connection.execute("SELECT product_id, quantity FROM stock_levels"))
        ledger = connection.execute("SELECT product_id, reason, delta, balance_after FROM stock_movements ORDER BY id")
        ledger = ledger.fetchall()
    assert statuses == {first_sale: "voided", second_sale: "partially_refunded"}
    assert last_number == 2
    assert key_resource == str(first_sale)
    reasons = Counter(reason for _, reason, _, _ in ledger)
    assert reasons == {"initial": 2, "adjustment": 1, "sale": 3, "void": 2, "refund": 1}
    products = seen["product_ids"]
    assert levels == {products["kopi"]: 9, products["roti"]: 5, products["teh"]: 5}
    for product_id, quantity in levels.items():
        # Each movement's balance is the one before it plus its delta, ending at the level.
        balance = 0
        for _, _, delta, balance_after in (row for row in ledger if row[0] == product_id):
            balance += delta
            assert balance_after == balance, (product_id, ledger)
        assert balance == quantity, product_id
