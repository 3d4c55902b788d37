"""Making sales and orders for the report tests, and moving them in time.

Sales, refunds, voids and orders are created through the API, exactly as the
till and the public menu create them. Only their clocks are then set by hand
(`business_date`, `created_at`, `paid_at`, ...), because a report is about
days that are already over. An online order is made paid the way Midtrans's
status API would make it (`payments.transitions.apply_state` with a settlement),
without the Midtrans simulator.
"""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from app.extensions import db
from app.orders.models import Order
from app.payments.models import PaymentAttempt, PaymentEvent
from app.reports.models import DailyCashier, DailyProduct, DailySales, DailyTender, SummaryDay
from app.sales.models import Refund, Sale
from app.stores.models import default_store

JAKARTA = ZoneInfo("Asia/Jakarta")
SUMMARY_TABLES = (DailySales, DailyTender, DailyCashier, DailyProduct, SummaryDay)
FIGURES = ("sales_count", "items_sold", "gross_idr", "discount_idr", "service_charge_idr", "tax_idr", "net_idr",
           "refunds_idr")
CUSTOMER = {"name": "Dewi Lestari", "phone": "0812-1111-2222"}


def wib(year, month, day, hour=0, minute=0, second=0):
    """A moment on the shop's clock (Asia/Jakarta, UTC+7)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=JAKARTA)


def now_in_store():
    return datetime.now(JAKARTA)


# --- the catalog and the shop's settings -------------------------------------------


def set_tax_and_service(app, tax_rate_bp, service_charge_bp):
    with app.app_context():
        store = default_store()
        store.tax_rate_bp, store.tax_inclusive, store.service_charge_bp = tax_rate_bp, False, service_charge_bp
        db.session.commit()


def create_category(client, headers, name):
    response = client.post("/api/categories", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def create_product(client, headers, sku, price_idr, stock=100, **fields):
    body = {"sku": sku, "name": f"Produk {sku}", "price_idr": price_idr, "initial_stock": stock, **fields}
    response = client.post("/api/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


# --- the till ---------------------------------------------------------------------------


def sell(client, headers, items, payments, **fields):
    """Check out (product_id, qty) pairs; returns the sale as the API shows it."""
    lines = [{"product_id": product_id, "qty": qty} for product_id, qty in items]
    response = client.post("/api/sales", json={"items": lines, "payments": payments, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def void(client, headers, sale_id):
    response = client.post(f"/api/sales/{sale_id}/void", json={"reason": "Salah input"}, headers=headers)
    assert response.status_code == 200, response.get_json()


def refund(client, headers, sale, product_id, qty, method="cash"):
    """Refund `qty` units of the sale's line for `product_id`; returns the refund."""
    line = next(item for item in sale["items"] if item["product_id"] == product_id)
    response = client.post(f"/api/sales/{sale['id']}/refunds", headers=headers, json={
        "items": [{"sale_item_id": line["id"], "qty": qty}], "reason": "Barang rusak", "method": method})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def move_sale(app, sale_id, at):
    """The sale was rung up at `at` (aware): its created_at and its business date follow."""
    with app.app_context():
        db.session.execute(update(Sale).where(Sale.id == sale_id)
                           .values(created_at=at, business_date=at.astimezone(JAKARTA).date()))
        db.session.commit()


def move_refund(app, refund_id, at):
    with app.app_context():
        db.session.execute(update(Refund).where(Refund.id == refund_id).values(created_at=at))
        db.session.commit()


# --- online orders ------------------------------------------------------------------------


def place_order(client, items):
    response = client.post("/api/orders", json={
        "customer": CUSTOMER, "items": [{"product_id": p, "qty": q} for p, q in items]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pay_order(app, order_id, payment_type, at=None):
    """Midtrans says the order's payment settled (type `payment_type`); it was paid at `at` if given."""
    from app.payments.gateway import TransactionState
    from app.payments.transitions import apply_state

    with app.app_context():
        order = db.session.get(Order, uuid.UUID(str(order_id)))
        attempt = PaymentAttempt(order_id=order.id, attempt_no=1, midtrans_order_id=f"{order.id.hex}-1",
                                 status="pending", amount_idr=order.total_idr, refunded_idr=0)
        db.session.add(attempt)
        db.session.commit()
        outcome = apply_state(attempt.id, TransactionState(
            found=True, transaction_status="settlement", fraud_status="accept", gross_amount=f"{order.total_idr}.00",
            payment_type=payment_type, transaction_id=uuid.uuid4().hex), "test")
        assert "order paid" in outcome, outcome
        if at is not None:
            db.session.execute(update(Order).where(Order.id == order.id).values(paid_at=at))
            db.session.execute(update(PaymentAttempt).where(PaymentAttempt.id == attempt.id).values(paid_at=at))
        db.session.commit()


def cancel_paid_order(client, headers, app, order_id, at=None):
    """Staff cancel a paid order and refund the customer themselves (a manual refund), at `at` if given."""
    response = client.patch(f"/api/orders/{order_id}", headers=headers,
                            json={"status": "cancelled", "reason": "Stok habis", "refund_manually": True})
    assert response.status_code == 200, response.get_json()
    if at is not None:
        with app.app_context():
            order_uuid = uuid.UUID(str(order_id))
            db.session.execute(update(Order).where(Order.id == order_uuid).values(cancelled_at=at))
            attempt_ids = select(PaymentAttempt.id).where(PaymentAttempt.order_id == order_uuid)
            db.session.execute(update(PaymentEvent).where(PaymentEvent.attempt_id.in_(attempt_ids)).values(created_at=at))
            db.session.commit()


# --- reading ---------------------------------------------------------------------------------


def get_json(client, headers, path, **params):
    response = client.get(path, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def summary_rows(app):
    """Every row of every summary table, as plain tuples in key order (what two builds must agree on)."""
    with app.app_context():
        rows = {}
        for model in SUMMARY_TABLES:
            columns = [column.key for column in model.__table__.columns]
            keys = [getattr(model, column.key) for column in model.__table__.primary_key.columns]
            rows[model.__tablename__] = [
                {column: getattr(row, column) for column in columns}
                for row in db.session.scalars(select(model).order_by(*keys))
            ]
        return rows


def figures(sales_count=0, items_sold=0, gross_idr=0, discount_idr=0, service_charge_idr=0, tax_idr=0, net_idr=0,
            refunds_idr=0, average_basket_idr=0):
    """What a manager sees for one channel; `net_after_refunds_idr` follows from net and refunds."""
    return {"sales_count": sales_count, "items_sold": items_sold, "gross_idr": gross_idr,
            "discount_idr": discount_idr, "service_charge_idr": service_charge_idr, "tax_idr": tax_idr,
            "net_idr": net_idr, "refunds_idr": refunds_idr, "net_after_refunds_idr": net_idr - refunds_idr,
            "average_basket_idr": average_basket_idr}
