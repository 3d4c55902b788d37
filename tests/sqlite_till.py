"""A day at the till on SQLite, the zero-setup first look, in a process of its own.

    APP_ENV=testing DATABASE_URL=sqlite:///.../pos.sqlite3 python -m tests.sqlite_till

The database must be migrated to head and hold no users. A supervisor sets
up three products and receives stock, a cashier rings up sales, the
supervisor voids one and refunds part of another, all through the API with
the app's test client. Every answer, the stock the API shows and the rows
in the database file after each step are printed as one JSON document;
tests/unit/test_sqlite_first_look.py runs this and checks it.

A process of its own because building a second app rebinds module-level
extension objects (limiter storage, the smorest Api, Celery's default app)
that the test session's app relies on.
"""

import json
import logging
import sqlite3
import sys
import traceback

CASHIER = {"username": "kasir", "full_name": "Budi Kasir", "role": "cashier", "password": "kasir-first-look"}
SUPERVISOR = {"username": "penyelia", "full_name": "Sari Penyelia", "role": "supervisor",
              "password": "penyelia-first-look"}
# name: (sku, price_idr, opening stock); teh starts without any stock, so it has no stock level row.
PRODUCTS = {"kopi": ("KOP-001", 18_000, 10), "roti": ("ROT-001", 12_500, 5), "teh": ("TEH-001", 8_000, 0)}
TABLES = ("sales", "sale_items", "sale_payments", "sale_counters", "stock_levels", "stock_movements", "refunds",
          "idempotency_keys")


def row_counts(database_path):
    """Rows per table, read from the file itself rather than through the app."""
    with sqlite3.connect(database_path) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


class ErrorsLogged(logging.Handler):
    """Tracebacks the app logs for its 500s (the caller sees only "Internal error")."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.texts = []

    def emit(self, record):
        self.texts.append(self.format(record))

    def take(self):
        taken, self.texts = self.texts, []
        return taken


class Till:
    """The API as the till's screens call it.

    After each step it reads each product's stock as the cashier's screen
    shows it, and counts the rows in the database file.
    """

    def __init__(self, client, database_path, errors_logged):
        self.client = client
        self.database_path = database_path
        self.errors_logged = errors_logged
        self.product_ids = {}
        self.cashier = self.supervisor = None

    def call(self, method, path, token, key=None, json_body=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key:
            headers["Idempotency-Key"] = key
        self.errors_logged.take()
        response = self.client.open(path, method=method, headers=headers, json=json_body)
        answer = {
            "status": response.status_code,
            "body": response.get_json(silent=True),
            "replayed": response.headers.get("Idempotent-Replayed"),
        }
        if response.status_code >= 500:
            answer["logged"] = self.errors_logged.take()
        return answer

    def sign_in(self, user):
        credentials = {"username": user["username"], "password": user["password"]}
        return made(self.call("POST", "/api/auth/login", None, json_body=credentials), f"signing in {user['username']}")

    def stock(self):
        return {name: self.call("GET", f"/api/products/{product_id}", self.cashier)["body"]["stock"]
                for name, product_id in self.product_ids.items()}

    def movements(self, name):
        """The product's stock ledger, newest first."""
        return self.call("GET", f"/api/products/{self.product_ids[name]}/stock-movements", self.cashier)["body"]

    def after(self, answer):
        """The answer with what the till and the database hold right after it."""
        return {**answer, "stock": self.stock(), "rows": row_counts(self.database_path)}

    def add_product(self, name, sku, price_idr, opening_stock):
        body = {"sku": sku, "name": name.title(), "price_idr": price_idr, "initial_stock": opening_stock}
        self.product_ids[name] = made(self.call("POST", "/api/products", self.supervisor, json_body=body), name)["id"]

    def checkout(self, lines, cash_idr, key=None):
        body = {
            "items": [{"product_id": self.product_ids[name], "qty": qty} for name, qty in lines],
            "payments": [{"method": "cash", "amount_idr": cash_idr}],
        }
        return self.after(self.call("POST", "/api/sales", self.cashier, key=key, json_body=body))

    def void(self, sale):
        body = {"reason": "Pelanggan batal"}
        return self.after(self.call("POST", f"/api/sales/{sale['id']}/void", self.supervisor, json_body=body))

    def refund(self, sale, line, qty):
        body = {"items": [{"sale_item_id": line["id"], "qty": qty}], "reason": "Tumpah"}
        return self.after(self.call("POST", f"/api/sales/{sale['id']}/refunds", self.supervisor, json_body=body))

    def adjust(self, name, delta):
        path = f"/api/products/{self.product_ids[name]}/stock-adjustments"
        return self.after(self.call("POST", path, self.supervisor, json_body={"delta": delta}))


def made(answer, what):
    """The body of a step the rest of the day builds on; the day stops here if it failed."""
    if answer["status"] not in (200, 201):
        logged = "\n".join(answer.get("logged", []))
        raise RuntimeError(f"{what} failed with {answer['status']}: {logged or answer['body']}")
    return answer["body"]


def create_staff(app):
    from app.extensions import db
    from app.users.services import create_user

    with app.app_context():
        for user in (CASHIER, SUPERVISOR):
            create_user(**{field: user[field] for field in ("username", "full_name", "role", "password")})
        db.session.remove()


def day_at_the_till(till, seen):
    """Each step's answer goes into `seen` as it happens, so a failure leaves the steps before it."""
    till.supervisor = till.sign_in(SUPERVISOR)["access_token"]
    till.cashier = till.sign_in(CASHIER)["access_token"]
    for name, (sku, price_idr, opening_stock) in PRODUCTS.items():
        till.add_product(name, sku, price_idr, opening_stock)
    seen["product_ids"] = till.product_ids
    seen["opening"] = till.after({})
    # Goods received in the morning for a product that had no stock level yet.
    seen["adjustment"] = till.adjust("teh", 5)
    seen["adjustment"]["movements"] = till.movements("teh")
    seen["me"] = till.call("GET", "/api/auth/me", till.cashier)

    first_lines = [("kopi", 2), ("roti", 1)]
    seen["checkout"] = till.checkout(first_lines, cash_idr=50_000, key="till-1-sale-1")
    seen["checkout"]["movements"] = {name: till.movements(name) for name in ("kopi", "roti")}
    seen["replay"] = till.checkout(first_lines, cash_idr=50_000, key="till-1-sale-1")
    seen["key_reused"] = till.checkout([("kopi", 1)], cash_idr=50_000, key="till-1-sale-1")
    seen["second"] = till.checkout([("kopi", 2)], cash_idr=40_000)
    seen["too_many"] = till.checkout([("kopi", 1), ("roti", 5)], cash_idr=100_000)

    first_sale = made(seen["checkout"], "the first checkout")
    seen["void"] = till.void(first_sale)
    seen["void_again"] = till.void(first_sale)

    second_sale = made(seen["second"], "the second checkout")
    [kopi_line] = second_sale["items"]
    seen["refund"] = till.refund(second_sale, kopi_line, 1)
    seen["over_refund"] = till.refund(second_sale, kopi_line, 2)


def run(scenario, name):
    """Run `scenario(till, seen)` on the SQLite database of DATABASE_URL; print what it saw as one JSON line."""
    from sqlalchemy import make_url

    from app import create_app

    app = create_app()
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        raise SystemExit(f"{name} runs on SQLite only; set DATABASE_URL=sqlite:///...")
    create_staff(app)
    errors_logged = ErrorsLogged()
    logging.getLogger().addHandler(errors_logged)
    seen = {}
    try:
        scenario(Till(app.test_client(), url.database, errors_logged), seen)
    except Exception:
        # A step the rest of the day needed failed: the steps before it stand, the test reports where it stopped.
        seen["stopped_by"] = traceback.format_exc()
    json.dump(seen, sys.stdout)
    print()


if __name__ == "__main__":
    run(day_at_the_till, "tests.sqlite_till")
