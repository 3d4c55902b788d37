"""A year of reports over a million sale lines: the API (summaries) against the plain SQL aggregate.

    python bench/reports.py [--sales 500000] [--repeat 15] [--export csv|xlsx|none]

In one run, on a scratch PostgreSQL database (`pos_bench_reports`):

1. loads `--sales` POS sales over the last 365 days, two lines each (one
   million sale lines by default), with SQL `generate_series`;
2. builds the nightly summaries of every closed day (`build_range`), timed;
3. times through gunicorn `GET /api/reports/sales` (the year, by month) and
   `GET /api/reports/best-sellers` (the year), median and worst of `--repeat`;
4. times the plain SQL aggregates over the raw rows that answer the same
   questions (totals per month, tenders, best sellers);
5. exports the year's items sold (a million rows) through a real worker
   and samples the worker's resident memory every 0.1 s.

Needs PostgreSQL and Redis. Prints figures; asserts nothing about time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator.testing import free_port  # noqa: E402

DB_NAME = "pos_bench_reports"
PSQL_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
ENV = {
    **os.environ,
    "APP_ENV": "development",
    "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench-secret-key-" + "x" * 32,
    "JWT_SECRET_KEY": "bench-jwt-secret-key-" + "y" * 32,
    "EXPORT_DIR": str(ROOT / "artifacts" / "bench-exports"),
}
PRODUCTS = 500

LOAD_SQL = """
INSERT INTO products (id, sku, name, price_idr, low_stock_threshold, is_active, created_at, updated_at)
SELECT p, 'R-' || p, 'Produk ' || p, 5000 + (p % 50) * 500, 0, true, now(), now() FROM generate_series(1, {products}) p;

INSERT INTO sales (store_id, number, business_date, status, cashier_id, subtotal_idr, line_discount_idr,
                   sale_discount_idr, discount_idr, service_charge_idr, tax_idr, tax_rate_bp, tax_inclusive,
                   service_charge_bp, total_idr, paid_idr, change_idr, refunded_idr, receipt_prints, created_at)
SELECT 1, 'B-' || g, d.day, 'completed', {cashier},
       s.subtotal, 0, 0, 0, 0, 0, 0, false, 0, s.subtotal, s.subtotal, 0, 0, 0,
       (d.day + time '08:00' + (g % 720) * interval '1 minute') AT TIME ZONE 'Asia/Jakarta'
FROM generate_series(1, {sales}) g
CROSS JOIN LATERAL (SELECT (current_date - 1 - (g % 365))::date AS day) d
CROSS JOIN LATERAL (SELECT (5000 + ((g % {products}) + 1) % 50 * 500) + (5000 + (((g * 7) % {products}) + 1) % 50 * 500) AS subtotal) s;

INSERT INTO sale_items (sale_id, product_id, sku, name, qty, unit_price_idr, line_discount_idr,
                        sale_discount_share_idr, total_share_idr, refunded_qty, refunded_idr)
SELECT s.id, p.id, p.sku, p.name, 1, p.price_idr, 0, 0, p.price_idr, 0, 0
FROM sales s
JOIN LATERAL (VALUES ((substr(s.number, 3)::int % {products}) + 1), (((substr(s.number, 3)::int * 7) % {products}) + 1)) v(pid) ON true
JOIN products p ON p.id = v.pid;

INSERT INTO sale_payments (sale_id, method, amount_idr)
SELECT id, (ARRAY['cash', 'qris', 'card'])[1 + id % 3], total_idr FROM sales;
SELECT setval('products_id_seq', {products});
ANALYZE;
"""

RAW_QUERIES = {
    "totals_per_month": """
        SELECT date_trunc('month', business_date) AS month, count(*), sum(subtotal_idr), sum(discount_idr),
               sum(tax_idr), sum(total_idr)
        FROM sales WHERE store_id = 1 AND business_date BETWEEN %(a)s AND %(b)s AND status <> 'voided'
        GROUP BY 1 ORDER BY 1""",
    "tenders": """
        SELECT p.method, count(*), sum(p.amount_idr) FROM sale_payments p JOIN sales s ON s.id = p.sale_id
        WHERE s.store_id = 1 AND s.business_date BETWEEN %(a)s AND %(b)s AND s.status <> 'voided' GROUP BY 1""",
    "best_sellers": """
        SELECT i.product_id, sum(i.qty) AS qty, sum(i.total_share_idr) FROM sale_items i JOIN sales s ON s.id = i.sale_id
        WHERE s.store_id = 1 AND s.business_date BETWEEN %(a)s AND %(b)s AND s.status <> 'voided'
        GROUP BY 1 ORDER BY qty DESC LIMIT 20""",
}


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def psql(connection_sql):
    import psycopg

    with psycopg.connect(PSQL_URL, autocommit=True) as connection:
        connection.execute(connection_sql)


def recreate_database():
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=ENV)


def timed(function, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return 0.0
    return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=500_000, help="sales to load (two lines each)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--export", choices=["csv", "xlsx", "none"], default="csv")
    args = parser.parse_args()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    os.environ.update(ENV)
    report = {}

    recreate_database()
    from app import create_app
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.reports.summaries import build_range
    from app.users.models import User

    app = create_app()
    with app.app_context():
        manager = User(username="bench-owner", full_name="Owner", role="admin", store_id=1,
                       password_hash=hash_password("bench-password-123"), is_active=True)
        db.session.add(manager)
        db.session.commit()
        cashier_id = manager.id
    started = time.perf_counter()
    psql(LOAD_SQL.format(products=PRODUCTS, sales=args.sales, cashier=cashier_id))
    report["load_seconds"] = round(time.perf_counter() - started, 1)

    import psycopg

    with psycopg.connect(PSQL_URL) as connection:
        report["sale_lines"] = connection.execute("SELECT count(*) FROM sale_items").fetchone()[0]
        report["sales"] = connection.execute("SELECT count(*) FROM sales").fetchone()[0]

    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    year_from, year_to = today - timedelta(days=365), today
    with app.app_context():
        started = time.perf_counter()
        report["days_built"] = build_range(1, year_from, today - timedelta(days=1))
        report["build_summaries_seconds"] = round(time.perf_counter() - started, 1)

    port = free_port()
    api_log = open(ROOT / "artifacts" / "bench-reports-api.log", "w")
    api = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app", "-b", f"127.0.0.1:{port}", "-w", "2",
                            "--log-level", "warning"], cwd=ROOT, env=ENV, stdout=api_log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/api"
        for _ in range(100):
            try:
                requests.get(f"{base}/menu", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        session = requests.Session()
        token = session.post(f"{base}/auth/login", json={"username": "bench-owner", "password": "bench-password-123"}).json()
        session.headers["Authorization"] = f"Bearer {token['access_token']}"
        params = {"date_from": year_from.isoformat(), "date_to": year_to.isoformat()}

        def sales_report():
            response = session.get(f"{base}/reports/sales", params={**params, "group_by": "month"})
            assert response.status_code == 200, response.text
            return response.json()

        def best_sellers():
            response = session.get(f"{base}/reports/best-sellers", params={**params, "limit": 20})
            assert response.status_code == 200, response.text

        api_total = sales_report()["totals"]["all"]["net_idr"]
        report["api_sales_report_year"] = timed(sales_report, args.repeat)
        report["api_best_sellers_year"] = timed(best_sellers, args.repeat)
    finally:
        api.terminate()
        api.wait(timeout=30)

    with psycopg.connect(PSQL_URL) as connection:
        sql_params = {"a": year_from, "b": year_to}
        for name, sql in RAW_QUERIES.items():
            report[f"sql_{name}_year"] = timed(lambda: connection.execute(sql, sql_params).fetchall(), max(3, args.repeat // 3))
        raw_total = connection.execute(
            "SELECT sum(total_idr) FROM sales WHERE business_date BETWEEN %(a)s AND %(b)s AND status <> 'voided'",
            sql_params).fetchone()[0]
    report["api_total_equals_sql_total"] = int(raw_total) == api_total

    if args.export != "none":
        report.update(export_through_worker(app, args.export, year_from, year_to))
    print(json.dumps(report, indent=2))


def export_through_worker(app, file_format, date_from, date_to):
    from app.extensions import db
    from app.reports.models import ReportExport

    worker_log = open(ROOT / "artifacts" / "bench-reports-worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--pool=solo",
                               "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
                              cwd=ROOT, env=ENV, stdout=worker_log, stderr=subprocess.STDOUT)
    try:
        from tasks.system import ping

        ping.apply_async().get(timeout=60)
        idle_rss = rss_mb(worker.pid)
        with app.app_context():
            from app.reports.exports import request_export

            export_id = request_export(1, 1, "items_sold", file_format, date_from, date_to).id
        started, peak = time.perf_counter(), 0.0
        while True:
            peak = max(peak, rss_mb(worker.pid))
            with app.app_context():
                export = db.session.get(ReportExport, export_id)
                status, rows, size = export.status, export.row_count, export.size_bytes
                db.session.rollback()
            if status in ("done", "failed"):
                break
            time.sleep(0.1)
        return {
            f"export_{file_format}_status": status,
            f"export_{file_format}_rows": rows,
            f"export_{file_format}_megabytes": round((size or 0) / 1e6, 1),
            f"export_{file_format}_seconds": round(time.perf_counter() - started, 1),
            "worker_rss_idle_mb": round(idle_rss, 1),
            "worker_rss_peak_mb": round(peak, 1),
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)


if __name__ == "__main__":
    main()
