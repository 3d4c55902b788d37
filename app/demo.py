"""Demo data for a first look: idempotent, so `flask demo seed` can run on every start.

A café-and-grocery store: users of every role, categories, about thirty
products with stock, a few customers, and past sales rung through the same
checkout service the till uses (so every figure and stock movement is real).
Each part is skipped when it is already there.
"""

import random
from typing import Any

from sqlalchemy import func, select

from app.catalog.models import Category, Product
from app.customers.models import Customer
from app.extensions import db
from app.inventory.models import Reason
from app.inventory.services import StockChange, apply_stock_changes
from app.sales.models import Sale
from app.sales.statuses import Tender
from app.stores.services import current_store_id
from app.users.models import ADMIN, CASHIER, SUPERVISOR
from app.users.services import create_user, find_by_username

# Demo-only credentials, printed by `flask demo seed`; the command refuses to run in production.
DEMO_USERS = (
    ("admin", "Ayu Admin", ADMIN, "admin12345"),
    ("supervisor", "Sari Supervisor", SUPERVISOR, "super12345"),
    ("cashier", "Budi Kasir", CASHIER, "kasir12345"),
)

# (category, [(sku, name, price_idr, barcode, stock, low-stock threshold)])
DEMO_CATALOG: tuple[tuple[str, list[tuple[str, str, int, str | None, int, int]]], ...] = (
    ("Kopi", [
        ("KOP-001", "Kopi Susu Gula Aren", 18000, "8991001000011", 80, 10),
        ("KOP-002", "Americano", 15000, "8991001000028", 80, 10),
        ("KOP-003", "Cafe Latte", 22000, "8991001000035", 60, 10),
        ("KOP-004", "Cappuccino", 22000, "8991001000042", 60, 10),
        ("KOP-005", "Kopi Tubruk", 10000, "8991001000059", 100, 10),
        ("KOP-006", "Es Kopi Pandan", 20000, "8991001000066", 4, 5),
    ]),
    ("Non-Kopi", [
        ("NON-001", "Es Teh Manis", 8000, "8991002000010", 120, 15),
        ("NON-002", "Teh Tarik", 15000, "8991002000027", 50, 10),
        ("NON-003", "Matcha Latte", 25000, "8991002000034", 40, 8),
        ("NON-004", "Cokelat Panas", 20000, "8991002000041", 40, 8),
        ("NON-005", "Jus Alpukat", 23000, "8991002000058", 3, 5),
        ("NON-006", "Air Mineral 600 ml", 5000, "8991002000065", 200, 24),
    ]),
    ("Makanan", [
        ("MKN-001", "Nasi Goreng Kampung", 28000, None, 30, 5),
        ("MKN-002", "Mie Goreng Jawa", 26000, None, 30, 5),
        ("MKN-003", "Roti Bakar Cokelat Keju", 18000, None, 25, 5),
        ("MKN-004", "Pisang Goreng", 12000, None, 40, 8),
        ("MKN-005", "Kentang Goreng", 15000, None, 35, 8),
        ("MKN-006", "Nasi Ayam Geprek", 25000, None, 2, 5),
    ]),
    ("Kue", [
        ("KUE-001", "Croissant Mentega", 17000, "8991004000018", 20, 5),
        ("KUE-002", "Donat Gula", 8000, "8991004000025", 30, 6),
        ("KUE-003", "Brownies Potong", 15000, "8991004000032", 24, 6),
        ("KUE-004", "Lapis Legit Potong", 20000, "8991004000049", 12, 4),
    ]),
    ("Kebutuhan Harian", [
        ("KBH-001", "Gula Pasir 1 kg", 17500, "8992001000017", 40, 10),
        ("KBH-002", "Minyak Goreng 1 L", 19000, "8992001000024", 36, 10),
        ("KBH-003", "Beras Premium 5 kg", 78000, "8992001000031", 15, 5),
        ("KBH-004", "Telur Ayam 10 butir", 28000, "8992001000048", 20, 6),
        ("KBH-005", "Mi Instan Goreng", 3500, "8992001000055", 150, 30),
        ("KBH-006", "Sabun Mandi Batang", 4500, "8992001000062", 60, 12),
        ("KBH-007", "Kopi Bubuk 200 g", 24000, "8992001000079", 18, 5),
        ("KBH-008", "Teh Celup isi 25", 9000, "8992001000086", 30, 8),
    ]),
)

DEMO_CUSTOMERS = (
    ("Rina Wulandari", "6281234500001", "rina@example.com"),
    ("Dedi Pratama", "6281234500002", None),
    ("Putu Ayu", "6281234500003", "putu.ayu@example.com"),
    ("Joko Susilo", "6281234500004", None),
)


def seed_demo_data():
    yield from _seed_users()
    yield from _seed_catalog()
    yield from _seed_customers()
    yield from _seed_sales()
    yield "Demo logins (development only):"
    for username, _, role, password in DEMO_USERS:
        yield f"  {username:<11} / {password}"


def _seed_users():
    for username, full_name, role, password in DEMO_USERS:
        if find_by_username(username) is None:
            # The documented demo passwords are guessable on purpose; this never runs in production.
            create_user(username=username, full_name=full_name, role=role, password=password, weak_password_allowed=True)
            yield f"created user {username} ({role})"


def _seed_catalog():
    if db.session.scalar(select(func.count()).select_from(Product)):
        return
    store_id = current_store_id()
    opening = []
    for order, (category_name, products) in enumerate(DEMO_CATALOG):
        category = Category(name=category_name, sort_order=order)
        db.session.add(category)
        db.session.flush()
        for sku, name, price, barcode, stock, threshold in products:
            product = Product(sku=sku, name=name, price_idr=price, barcode=barcode, category_id=category.id,
                              cost_idr=price * 55 // 100, low_stock_threshold=threshold, is_active=True)
            db.session.add(product)
            db.session.flush()
            opening.append(StockChange(product.id, stock))
    apply_stock_changes(store_id=store_id, changes=opening, reason=Reason.INITIAL, reference="demo")
    db.session.commit()
    yield f"created {len(opening)} products in {len(DEMO_CATALOG)} categories"


def _seed_customers():
    if db.session.scalar(select(func.count()).select_from(Customer)):
        return
    for name, phone, email in DEMO_CUSTOMERS:
        db.session.add(Customer(name=name, phone=phone, email=email, purchase_count=0, total_spent_idr=0))
    db.session.commit()
    yield f"created {len(DEMO_CUSTOMERS)} customers"


def _seed_sales(count=12):
    """A few sales rung through the real checkout, so figures, stock and history agree."""
    if db.session.scalar(select(func.count()).select_from(Sale)):
        return
    from app.sales.checkout import checkout

    cashier = find_by_username("cashier")
    assert cashier is not None, "the demo's users come first"
    # Only well-stocked products, so the few deliberately low ones stay low for the low-stock list.
    plenty = [sku for _, items in DEMO_CATALOG for sku, _, _, _, stock, _ in items if stock >= 30]
    products = db.session.scalars(select(Product).where(Product.sku.in_(plenty)).order_by(Product.id)).all()
    customers = db.session.scalars(select(Customer).order_by(Customer.id)).all()
    chooser = random.Random(2026)
    for number in range(count):
        lines = chooser.sample(products, k=chooser.randint(1, 3))
        body: dict[str, Any] = {
            "items": [{"product_id": product.id, "qty": chooser.randint(1, 2)} for product in lines],
            "payments": [{"method": chooser.choice([Tender.CASH, Tender.QRIS, Tender.CARD]), "amount_idr": 0}],
            "customer_id": customers[number % len(customers)].id if number % 3 == 0 else None,
        }
        total = sum(product.price_idr * item["qty"] for product, item in zip(lines, body["items"]))
        cash = body["payments"][0]["method"] == Tender.CASH
        body["payments"][0]["amount_idr"] = -(-total // 10000) * 10000 if cash else total
        checkout(current_store_id(), cashier, body)
    yield f"rang up {count} demo sales"

