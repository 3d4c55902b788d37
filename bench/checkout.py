"""Checkout throughput and latency through the real stack, next to the raw SQL it runs.

    python bench/checkout.py [--clients 32] [--duration 20] [--warmup 5] [--workers 3] [--products 500]

In one run, on a scratch PostgreSQL database (`pos_bench`, recreated):

1. rings one checkout in-process and records every SQL statement it sends;
2. starts gunicorn on the API and drives `POST /api/sales` with wrk
   (`--clients` connections, each checkout two random products, a fresh
   `Idempotency-Key`, a signed-in cashier), reporting requests/s, p50, p99
   and errors, and checking that every 201 left exactly one sale row;
3. replays the recorded statements with pgbench (same clients and
   duration, one transaction per checkout as the API runs it) and reports
   its transactions/s;
4. prints both and their ratio.

Both measurements follow `--warmup` seconds of the same load that are not
counted: they are of the steady state, not of fresh processes preparing
their statements.

Needs PostgreSQL (127.0.0.1, trust), Redis, and Debian's `wrk` and
`pgbench`. Prints figures; it asserts nothing about time.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "pos_bench"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PSQL_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
FIRST_PRODUCT_ID = 10_001
# A distinctive id, so the recorded sale id can be told apart from other numbers.
FIRST_SALE_ID = 900_000_001
CASHIER = ("bench-cashier", "bench-password-123")

ENV = {
    **os.environ,
    "APP_ENV": "development",
    "DATABASE_URL": DB_URL,
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench-secret-key-" + "x" * 32,
    "JWT_SECRET_KEY": "bench-jwt-secret-key-" + "y" * 32,
    "JWT_ACCESS_TOKEN_EXPIRES_MINUTES": "120",
}


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def recreate_database():
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=ENV)


def seed(app, products):
    from sqlalchemy import insert, text

    from app.auth.passwords import hash_password
    from app.catalog.models import Product
    from app.extensions import db
    from app.inventory.models import StockLevel
    from app.stores.models import default_store
    from app.users.models import User

    with app.app_context():
        store_id = default_store().id
        db.session.add(User(username=CASHIER[0], full_name="Bench Cashier", role="cashier",
                            password_hash=hash_password(CASHIER[1]), store_id=store_id, is_active=True))
        rows = [
            {"id": FIRST_PRODUCT_ID + i, "sku": f"B-{i:05d}", "name": f"Produk {i}", "is_active": True,
             "price_idr": random.randrange(5_000, 100_000, 500), "low_stock_threshold": 0}
            for i in range(products)
        ]
        db.session.execute(insert(Product), rows)
        db.session.execute(insert(StockLevel), [
            {"store_id": store_id, "product_id": row["id"], "quantity": 1_000_000_000, "updated_at": datetime.now().astimezone()}
            for row in rows
        ])
        db.session.execute(text(f"ALTER SEQUENCE sales_id_seq RESTART WITH {FIRST_SALE_ID}"))
        db.session.commit()


def checkout_body(first_product):
    return {
        "items": [{"product_id": first_product, "qty": 1}, {"product_id": first_product + 1, "qty": 1}],
        "payments": [{"method": "cash", "amount_idr": 1_000_000}],
    }


def record_one_checkout(app):
    """Ring one checkout in-process and return its statements: [(sql, params)].

    Recorded at psycopg's cursor, below SQLAlchemy: the hot path runs some
    statements on the driver connection directly (app/driver_sql.py).
    """
    import psycopg

    client = app.test_client()
    token = client.post("/api/auth/login", json={"username": CASHIER[0], "password": CASHIER[1]}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    for _ in range(2):  # the day's first checkout creates its number sequence; record the steady state
        warm = client.post("/api/sales", json=checkout_body(FIRST_PRODUCT_ID), headers=headers)
        assert warm.status_code == 201, warm.get_json()
    statements = []
    execute = psycopg.Cursor.execute

    def recording_execute(cursor, query, params=None, **kwargs):
        statements.append((query if isinstance(query, str) else query.decode(), params))
        return execute(cursor, query, params, **kwargs)

    psycopg.Cursor.execute = recording_execute
    try:
        response = client.post("/api/sales", json=checkout_body(FIRST_PRODUCT_ID + 2),
                               headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    finally:
        psycopg.Cursor.execute = execute
    assert response.status_code == 201, response.get_json()
    return statements, response.get_json(), token["access_token"]


def _literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime):
        return "now()"
    if isinstance(value, date):
        return "current_date"
    return "'" + str(value).replace("'", "''") + "'"


def pgbench_script(statements, sale):
    """The recorded statements as a pgbench script, with what must differ per transaction as variables.

    Values that are unique per checkout (the sale id, the idempotency key
    and its lock id, the two products) become pgbench
    variables or expressions; everything else is replayed literally.
    """
    sale_id = sale["id"]
    first, second = (item["product_id"] for item in sale["items"])
    strings = {str(sale_id): ":sale_id::text", f"sale:{sale_id}": "'sale:' || :sale_id"}
    ints = {sale_id: ":sale_id", first: ":p1", second: ":p2"}
    # A per-transaction value, not an expression evaluated per row: the lookup must use its index.
    random_key = "('bench-' || :keynum)"

    def json_literal(text):
        """A JSON parameter (the sale's lines) with its product ids spliced in from the pgbench variables."""
        literal = _literal(text)
        for product_id, variable in ((first, ":p1"), (second, ":p2")):
            literal = literal.replace(f'"product_id": {product_id},', f"\"product_id\": ' || {variable} || ',")
        return literal

    def render(statement, params):
        def value(match):
            raw = params[match.group(1)]
            if isinstance(raw, str) and raw in strings:
                return strings[raw]
            if isinstance(raw, (list, tuple)):
                return "ARRAY[" + ", ".join(ints.get(v, _literal(v)) for v in raw) + "]"
            if isinstance(raw, str) and re.fullmatch(r"[0-9a-f-]{36}", raw):
                return random_key
            if isinstance(raw, str) and raw.startswith("[{"):
                return json_literal(raw)
            if isinstance(raw, int) and not isinstance(raw, bool):
                if raw in ints:
                    return ints[raw]
                if abs(raw) > 2**40 and "advisory" in statement:
                    return ":lockid"
            return _literal(raw)

        return " ".join(re.sub(r"%\((\w+)\)s", value, statement).split())

    transaction = []
    for statement, params in statements:
        sql = render(statement, params or {})
        if re.match(r"(WITH .* )?INSERT INTO sales \(", sql):
            sql += " \\gset sale_"
        else:
            sql += ";"
        transaction.append(sql)
    return "\n".join([
        f"\\set p1 random({FIRST_PRODUCT_ID}, :last_product - 1)",
        "\\set p2 :p1 + 1",
        "\\set lockid random(1, 9000000000000000000)",
        "\\set keynum random(1, 9000000000000000000)",
        "BEGIN;",
        *transaction,
        "COMMIT;",
    ]) + "\n"


WRK_SCRIPT = """
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(os.time() * 1000 + tid)
end
request = function()
  counter = counter + 1
  local p1 = math.random(%(first)d, %(last)d - 1)
  local body = string.format('{"items":[{"product_id":%%d,"qty":1},{"product_id":%%d,"qty":1}],"payments":[{"method":"cash","amount_idr":1000000}]}', p1, p1 + 1)
  wrk.headers["Idempotency-Key"] = string.format("bench-%%d-%%d-%%d", tid, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/sales", nil, body)
end
"""


def start_gunicorn(port, workers, threads):
    log = open(ROOT / "artifacts" / "bench-gunicorn.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--threads", str(threads), "--backlog", "2048", "--log-level", "warning"],
        cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT,
    )
    import requests

    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/store", timeout=1).status_code == 401:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start; see artifacts/bench-gunicorn.log")


def run_wrk(port, token, clients, duration, products):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"first": FIRST_PRODUCT_ID, "last": FIRST_PRODUCT_ID + products - 1})
    output = run([
        "wrk", "-t", "2", "-c", str(clients), "-d", f"{duration}s", "--latency", "--timeout", "10s",
        "-s", script.name, "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
        f"http://127.0.0.1:{port}",
    ]).stdout
    return output


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output):
    requests_total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": requests_total,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", output).group(1)),
        "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", output).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "none",
    }


def run_pgbench(script_text, clients, duration, products):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(script_text)
    output = run([
        "pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(duration), "-f", script.name,
        "-D", f"last_product={FIRST_PRODUCT_ID + products - 1}", PSQL_URL,
    ]).stdout
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", output)
    return tps, int(failed.group(1)) if failed else 0, output


def count_sales():
    import psycopg

    with psycopg.connect(PSQL_URL) as connection:
        return connection.execute("SELECT count(*) FROM sales").fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (on 2 cores 3 did best: 2 leave a core idle while both wait on the database)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=5,
                        help="seconds of load before each measurement, not counted (fresh workers prepare statements "
                             "and fill caches)")
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()

    (ROOT / "artifacts").mkdir(exist_ok=True)
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    recreate_database()
    from app import create_app

    app = create_app()
    seed(app, args.products)
    statements, sale, token = record_one_checkout(app)
    script = pgbench_script(statements, sale)
    (ROOT / "artifacts" / "bench-checkout.pgbench.sql").write_text(script)

    server = start_gunicorn(args.port, args.workers, args.threads)
    try:
        if args.warmup:
            run_wrk(args.port, token, args.clients, args.warmup, args.products)
        before = count_sales()
        api = parse_wrk(run_wrk(args.port, token, args.clients, args.duration, args.products))
        created = count_sales() - before
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.warmup:
        run_pgbench(script, args.clients, args.warmup, args.products)
    tps, failed, _ = run_pgbench(script, args.clients, args.duration, args.products)

    report = {
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "gunicorn": f"{args.workers} workers x {args.threads} threads",
        "sql_statements_per_checkout": len(statements),
        "api_checkouts_per_s": api["rps"],
        "api_p50_ms": api["p50_ms"],
        "api_p99_ms": api["p99_ms"],
        "api_requests": api["requests"],
        "api_non_2xx": api["non_2xx"],
        "api_socket_errors": api["socket_errors"],
        "sales_rows_created": created,
        "pgbench_tps": tps,
        "pgbench_failed": failed,
        "ratio_api_to_sql": round(api["rps"] / tps, 3) if tps else None,
    }
    print(json.dumps(report, indent=2))
    print(f"\nAPI {api['rps']:.0f} checkouts/s (p50 {api['p50_ms']:.1f} ms, p99 {api['p99_ms']:.1f} ms, "
          f"{api['non_2xx']} errors) vs pgbench {tps:.0f} tx/s of the same SQL: ratio {report['ratio_api_to_sql']}")


if __name__ == "__main__":
    main()
