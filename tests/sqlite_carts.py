"""Parked carts on SQLite, in a process of its own (see tests/sqlite_till.py for why).

    APP_ENV=testing DATABASE_URL=sqlite:///.../pos.sqlite3 python -m tests.sqlite_carts

Issue 12: on SQLite `carts` gave id 1 three times, so a till that still sent
the id of a cart it had checked out deleted the cart another till had just
parked. A cashier parks a cart and checks it out with its `cart_id`, the
supervisor's till parks another, and the cashier's till sends a checkout with
the old `cart_id`. Every answer and the carts left in the file are printed as
one JSON document; tests/unit/test_sqlite_carts.py checks it.
"""

import sqlite3

from tests.sqlite_till import made, run


def carts_in_file(database_path):
    with sqlite3.connect(database_path) as connection:
        return {
            "carts": [list(row) for row in connection.execute("SELECT id, label FROM carts ORDER BY id")],
            "sales": connection.execute("SELECT count(*) FROM sales").fetchone()[0],
        }


def carts_at_the_till(till, seen):
    from tests.sqlite_till import CASHIER, SUPERVISOR

    till.supervisor = till.sign_in(SUPERVISOR)["access_token"]
    till.cashier = till.sign_in(CASHIER)["access_token"]
    till.add_product("kopi", "KOP-001", 18_000, 10)
    line = [{"product_id": till.product_ids["kopi"], "qty": 1}]
    cash = [{"method": "cash", "amount_idr": 18_000}]

    first = made(till.call("POST", "/api/carts", till.cashier, json_body={"label": "Meja 1", "items": line}),
                 "parking the first cart")
    seen["first_cart"] = first
    seen["first_checkout"] = till.call("POST", "/api/sales", till.cashier,
                                       json_body={"items": line, "payments": cash, "cart_id": first["id"]})
    seen["second_cart"] = made(till.call("POST", "/api/carts", till.supervisor,
                                         json_body={"label": "Meja 2", "items": line}), "parking the second cart")
    seen["stale_checkout"] = till.call("POST", "/api/sales", till.cashier,
                                       json_body={"items": line, "payments": cash, "cart_id": first["id"]})
    seen["second_cart_after"] = till.call("GET", f"/api/carts/{seen['second_cart']['id']}", till.supervisor)
    seen["file"] = carts_in_file(till.database_path)


if __name__ == "__main__":
    run(carts_at_the_till, "tests.sqlite_carts")
