"""On SQLite a cart id is never given twice, and a stale cart_id closes no other till's cart (issue 12).

The rest of the suite runs on PostgreSQL, whose sequences never reuse an id;
SQLite reused the id of a deleted last row until its tables had AUTOINCREMENT
(migration 0008). tests/sqlite_carts.py runs the till on a fresh, migrated
SQLite file in a process of its own.
"""

import pytest

from tests.unit.test_sqlite_first_look import run_on_fresh_sqlite


@pytest.fixture(scope="module")
def seen(tmp_path_factory, test_config):
    return run_on_fresh_sqlite(tmp_path_factory.mktemp("sqlite-carts") / "pos.sqlite3", test_config, "tests.sqlite_carts")


def test_a_new_cart_gets_a_new_id_and_survives_a_checkout_sent_with_the_old_one(seen):
    assert "stopped_by" not in seen, seen["stopped_by"]
    assert seen["first_checkout"]["status"] == 201, seen["first_checkout"]
    first_id, second_id = seen["first_cart"]["id"], seen["second_cart"]["id"]
    assert second_id != first_id

    stale = seen["stale_checkout"]
    assert stale["status"] == 409, stale
    assert stale["body"]["message"] == "That parked cart was already checked out or deleted."
    assert seen["second_cart_after"]["status"] == 200
    assert seen["file"] == {"carts": [[second_id, "Meja 2"]], "sales": 1}
