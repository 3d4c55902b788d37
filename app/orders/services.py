"""Online orders: the menu, placing an order (which reserves stock), its life after payment.

Every status change is a conditional `UPDATE ... WHERE status = <expected>`,
so two workers, a webhook and the expiry sweep can race and only one of them
wins. Reserved stock is given back by `release_stock`, whose own conditional
update on `stock_reserved` makes it happen once.
"""

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, func, or_, select, update

from app.catalog.models import Category, Product
from app.customers.models import Customer
from app.domain import Conflict, Invalid, NotFound
from app.extensions import db
from app.idempotency import Claim
from app.inventory.models import Reason
from app.inventory.services import InsufficientStock, StockChange, apply_stock_changes, with_stock
from app.models import utcnow
from app.orders import holds
from app.orders.models import CLOSED_UNPAID, FULFILMENT, Order, OrderItem, OrderStatus, PaymentStatus
from app.orders.schemas import OrderOut
from app.sales import pricing
from app.stores.models import Store

log = logging.getLogger(__name__)
_order_out = OrderOut()


# The public menu


def menu(store_id: int) -> dict[str, Any]:
    products = db.session.scalars(
        with_stock(select(Product), store_id)
        .where(Product.is_active.is_(True))
        .order_by(Product.name)
    ).all()
    categories = {c.id: c for c in db.session.scalars(select(Category).order_by(Category.sort_order, Category.name))}
    held = holds.held_by_unpaid_orders(store_id)
    grouped: dict[int | None, list[dict[str, Any]]] = {}
    for product in products:
        # What an online customer may order now: the counter's share of the stock is not on offer.
        available = holds.orderable_online(product.stock or 0, held.get(product.id, (0, 0))[0])
        grouped.setdefault(product.category_id, []).append(
            {
                "id": product.id,
                "sku": product.sku,
                "name": product.name,
                "description": product.description,
                "price_idr": product.price_idr,
                "available": available,
                "is_available": available > 0,
            }
        )
    ordered: list[tuple[int | None, str]] = [(cid, c.name) for cid, c in categories.items() if cid in grouped]
    if None in grouped:
        ordered.append((None, "Lainnya"))
    return {
        "categories": [{"id": cid, "name": name, "products": grouped[cid]} for cid, name in ordered],
        "max_qty_per_product": current_app.config["ORDER_MAX_QTY"],
    }


# Placing an order


def _load_products(items: Sequence[Mapping[str, Any]]) -> dict[int, Product]:
    ids = [item["product_id"] for item in items]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    for index, item in enumerate(items):
        product = products.get(item["product_id"])
        if product is None or not product.is_active:
            raise Invalid(f"Product {item['product_id']} is not on the menu.",
                          errors={"json": {"items": {index: {"product_id": ["Not on the menu."]}}}})
    return products


def place_order(store_id: int, data: Mapping[str, Any], client_address: str | None,
                claim: Claim | None = None) -> Order:
    """Price the order from our own prices, reserve its stock within the online share, and return it.

    The stock is held for ORDER_HOLD_MINUTES; starting a payment extends it
    (app/payments/attempts.py). The limits are in app/orders/holds.py.
    `claim` is the request's Idempotency-Key claim, completed with the order.
    """
    products = _load_products(data["items"])
    store = db.session.get_one(Store, store_id)
    priced = pricing.price_sale(
        [pricing.LineIn(i["product_id"], products[i["product_id"]].price_idr, i["qty"]) for i in data["items"]],
        pricing.Rates(store.tax_rate_bp, store.tax_inclusive, store.service_charge_bp),
    )
    if priced.total_idr <= 0:
        raise Invalid("The order's total is zero; nothing to pay.")
    customer = data["customer"]
    try:
        holds.check_pending_caps(client_address, customer["phone"])
    except holds.TooManyPendingOrders:
        db.session.rollback()
        raise
    placed_at = utcnow()
    order = Order(
        id=uuid.uuid4(),
        store_id=store_id,
        status=OrderStatus.PENDING,
        payment_status=PaymentStatus.NONE,
        customer_name=customer["name"],
        customer_phone=customer["phone"],
        customer_email=customer.get("email"),
        client_address=client_address,
        note=data.get("note") or None,
        subtotal_idr=priced.subtotal_idr,
        service_charge_idr=priced.service_charge_idr,
        tax_idr=priced.tax_idr,
        tax_name=store.tax_name if store.tax_rate_bp else None,
        tax_inclusive=store.tax_inclusive,
        total_idr=priced.total_idr,
        refunded_idr=0,
        stock_reserved=True,
        created_at=placed_at,
        expires_at=placed_at + timedelta(minutes=current_app.config["ORDER_HOLD_MINUTES"]),
        items=[
            OrderItem(
                product_id=line.product_id,
                sku=products[line.product_id].sku,
                name=products[line.product_id].name,
                qty=line.qty,
                unit_price_idr=line.unit_price_idr,
                line_total_idr=line.gross_idr,
            )
            for line in priced.lines
        ],
    )
    db.session.add(order)
    db.session.flush()
    try:
        apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(item.product_id, -item.qty) for item in order.items],
            reason=Reason.ONLINE_ORDER,
            reference=f"order:{order.id}",
        )
        holds.check_online_share(store_id, order, client_address)  # the stock rows are locked now
    except (InsufficientStock, holds.OnlineShareExceeded):
        db.session.rollback()
        raise
    if claim is not None:
        claim.complete(order.id, 201)
    db.session.commit()
    log.info("order_placed order_id=%s total_idr=%s", order.id, order.total_idr)
    return order


# Reading


def find_order(order_id: uuid.UUID, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id)
    if lock:
        # A row read earlier in this session must be re-read now that it is locked.
        query = query.with_for_update(of=Order).execution_options(populate_existing=True)
    order = db.session.scalars(query).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def order_body(order_id: uuid.UUID | str) -> dict[str, Any]:
    return _order_out.dump(find_order(uuid.UUID(str(order_id))))


def orders_query(store_id: int, status: str | None = None, payment_status: str | None = None, q: str | None = None,
                 date_from: date | None = None, date_to: date | None = None) -> Select[Order]:
    query = select(Order).where(Order.store_id == store_id).order_by(Order.created_at.desc())
    if status:
        query = query.where(Order.status == status)
    if payment_status:
        query = query.where(Order.payment_status == payment_status)
    if q:
        needle = q.strip()
        digits = "".join(ch for ch in needle if ch.isdigit())
        conditions = [func.lower(Order.customer_name).contains(needle.lower(), autoescape=True)]
        if digits:
            conditions.append(Order.customer_phone.contains(digits.lstrip("0"), autoescape=True))
        query = query.where(or_(*conditions))
    zone = ZoneInfo(current_app.config["STORE_TIMEZONE"])
    if date_from:
        query = query.where(Order.created_at >= datetime.combine(date_from, time.min, zone))
    if date_to:
        query = query.where(Order.created_at < datetime.combine(date_to + timedelta(days=1), time.min, zone))
    return query


# Status changes


def _move(order_id: uuid.UUID, from_statuses: Sequence[str], **values: Any) -> bool:
    """Conditionally move an order; True if this call made the change."""
    return bool(
        db.session.execute(  # type: ignore[attr-defined]  # DML gives a CursorResult
            update(Order)
            .where(Order.id == order_id, Order.status.in_(from_statuses))
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def release_stock(order_id: uuid.UUID, store_id: int, items: Iterable[OrderItem]) -> bool:
    """Give the order's reserved units back, once, in the caller's transaction."""
    released = db.session.execute(  # type: ignore[attr-defined]  # DML gives a CursorResult
        update(Order)
        .where(Order.id == order_id, Order.stock_reserved.is_(True))
        .values(stock_reserved=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    if released:
        apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(item.product_id, item.qty) for item in items],
            reason=Reason.ORDER_RELEASE,
            reference=f"order:{order_id}",
        )
    return bool(released)


def mark_paid(order: Order, paid_at: datetime) -> str:
    """The order's side of a payment that became paid. Returns what happened, for the log."""
    if _move(order.id, (OrderStatus.PENDING,), status=OrderStatus.PAID, payment_status=PaymentStatus.PAID,
             paid_at=paid_at):
        _record_customer_purchase(order)
        return "order paid"
    log.warning("payment_for_closed_order order_id=%s status=%s", order.id, order.status)
    if order.status in CLOSED_UNPAID:
        return f"order already {order.status}; payment needs a refund"
    return f"order already {order.status}"


def _record_customer_purchase(order: Order) -> None:
    """Link the paid order to the customer with its phone number (creating one) and count the purchase."""
    customer = db.session.scalars(select(Customer).where(Customer.phone == order.customer_phone)).first()
    if customer is None:
        customer = Customer(name=order.customer_name, phone=order.customer_phone, email=order.customer_email,
                            purchase_count=0, total_spent_idr=0)
        db.session.add(customer)
        db.session.flush()
    db.session.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(purchase_count=Customer.purchase_count + 1, total_spent_idr=Customer.total_spent_idr + order.total_idr,
                last_purchase_at=utcnow())
    )
    db.session.execute(update(Order).where(Order.id == order.id).values(customer_id=customer.id))


def close_unpaid(order: Order, status: str, reason: str) -> bool:
    """pending -> expired | cancelled | failed, giving the stock back. Returns True if this call closed it."""
    if not _move(order.id, (OrderStatus.PENDING,), status=status, cancelled_at=utcnow(), cancel_reason=reason):
        return False
    release_stock(order.id, order.store_id, order.items)
    return True


def set_payment_status(order_id: uuid.UUID, payment_status: str) -> None:
    db.session.execute(
        update(Order).where(Order.id == order_id).values(payment_status=payment_status)
        .execution_options(synchronize_session=False)
    )


def advance(order_id: uuid.UUID, status: str) -> Order:
    """A fulfilment step: paid -> preparing -> ready -> completed, one at a time."""
    order = find_order(order_id, lock=True)
    if FULFILMENT.get(order.status) != status:
        expected = FULFILMENT.get(order.status)
        raise Conflict(f"The order is {order.status}; "
                       + (f"the next step is {expected}." if expected else "it has no further fulfilment step."))
    extra = {"completed_at": utcnow()} if status == OrderStatus.COMPLETED else {}
    _move(order.id, (order.status,), status=status, **extra)
    db.session.commit()
    return find_order(order_id)


def due_for_expiry(store_id: int | None = None, limit: int = 500) -> Sequence[uuid.UUID]:
    """Pending orders past their time whose payment is not under review."""
    query = select(Order.id).where(Order.status == OrderStatus.PENDING, Order.expires_at < utcnow(),
                                   Order.payment_status != PaymentStatus.CHALLENGE)
    if store_id is not None:
        query = query.where(Order.store_id == store_id)
    return db.session.scalars(query.order_by(Order.expires_at).limit(limit)).all()

