"""How long applying a large stock take takes, through the service the Celery task calls.

    python bench/stock_take.py [--products 5000] [--repeat 3] [--profile]

On a scratch PostgreSQL database (`pos_bench_stock_take`, recreated and
migrated), it inserts N products with stock levels and their `initial`
movements, records a pending stock take counting every product (about six in
seven counts differ from the stock held), and times
`app.inventory.stock_takes.apply_stock_take` in-process. Each repeat records a
new stock take over the same products. It checks the result (stock equals the
count, one movement per changed product) and prints the figures; it asserts
nothing about time. `--profile` prints the 20 most expensive calls of the
first apply.

Needs PostgreSQL on 127.0.0.1 (trust auth, user postgres), or
BENCH_DATABASE_ADMIN_URL.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "pos_bench_stock_take"
ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def recreate_database():
    import psycopg
    from sqlalchemy import make_url

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB_NAME}")
    return make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=DB_NAME).render_as_string(hide_password=False)


def make_app(database_url):
    from config import DevelopmentConfig

    class BenchConfig(DevelopmentConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        # Fixed values, so nothing is generated under instance/.
        SECRET_KEY = "bench-secret-key-" + "x" * 32
        JWT_SECRET_KEY = "bench-jwt-secret-key-" + "y" * 32
        REDIS_URL = "redis://127.0.0.1:6379/9"
        CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL

    from flask_migrate import upgrade

    from app import create_app

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade()
    return app


def seed_products(count):
    from sqlalchemy import insert

    from app.catalog.models import Product
    from app.extensions import db
    from app.inventory.models import StockLevel, StockMovement
    from app.models import utcnow
    from app.stores.models import default_store

    store_id, now = default_store().id, utcnow()
    ids = db.session.scalars(
        insert(Product).returning(Product.id, sort_by_parameter_order=True),
        [{"sku": f"BENCH-{index:06d}", "name": f"Barang {index}", "price_idr": 1_000} for index in range(count)],
    ).all()
    stocks = {product_id: index % 7 for index, product_id in enumerate(ids)}
    db.session.execute(
        insert(StockLevel),
        [{"store_id": store_id, "product_id": pid, "quantity": stock, "updated_at": now} for pid, stock in stocks.items()],
    )
    db.session.execute(
        insert(StockMovement),
        [
            {"store_id": store_id, "product_id": pid, "delta": stock, "balance_after": stock, "reason": "initial",
             "created_at": now}
            for pid, stock in stocks.items() if stock
        ],
    )
    db.session.commit()
    return ids


def record_stock_take(product_ids, round_number):
    """A pending stock take written straight to the tables (no task is sent)."""
    from sqlalchemy import insert

    from app.extensions import db
    from app.inventory.models import StockTake, StockTakeLine
    from app.stores.models import default_store

    counts = {pid: (index + round_number) % 5 for index, pid in enumerate(product_ids)}
    stock_take = StockTake(store_id=default_store().id, status="pending", line_count=len(counts))
    db.session.add(stock_take)
    db.session.flush()
    db.session.execute(
        insert(StockTakeLine),
        [{"stock_take_id": stock_take.id, "product_id": pid, "counted": counted} for pid, counted in counts.items()],
    )
    db.session.commit()
    return stock_take.id, counts


def check(stock_take_id, counts):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.inventory.models import StockLevel, StockMovement, StockTakeLine

    held = dict(db.session.execute(select(StockLevel.product_id, StockLevel.quantity)).all())
    wrong = [pid for pid, counted in counts.items() if held.get(pid, 0) != counted]
    movements = db.session.scalar(
        select(func.count()).select_from(StockMovement).where(StockMovement.reference == f"stock_take:{stock_take_id}")
    )
    changed = db.session.scalar(
        select(func.count()).select_from(StockTakeLine)
        .where(StockTakeLine.stock_take_id == stock_take_id, StockTakeLine.difference != 0)
    )
    return {"wrong_levels": len(wrong), "movements": movements, "changed_lines": changed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    app = make_app(recreate_database())
    from app.extensions import db
    from app.inventory.stock_takes import apply_stock_take

    with app.app_context():
        started = time.perf_counter()
        product_ids = seed_products(args.products)
        print(f"seeded {args.products} products in {time.perf_counter() - started:.2f}s")

    for round_number in range(args.repeat):
        with app.app_context():
            stock_take_id, counts = record_stock_take(product_ids, round_number)
        with app.app_context():
            profiler = cProfile.Profile() if args.profile and round_number == 0 else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            apply_stock_take(stock_take_id)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
            db.session.remove()
        with app.app_context():
            result = check(stock_take_id, counts)
        print(
            f"round {round_number + 1}: applied {len(counts)} lines ({result['changed_lines']} changed) in {elapsed:.2f}s"
            f" = {len(counts) / elapsed:,.0f} lines/s; movements written {result['movements']},"
            f" levels not at the count {result['wrong_levels']}"
        )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(20)
            print(out.getvalue())


if __name__ == "__main__":
    main()
