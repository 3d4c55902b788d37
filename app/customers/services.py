"""Customers: the rules of the customer list and a customer's purchase history.

The running totals on a customer (`purchase_count`, `total_spent_idr`,
`last_purchase_at`) belong to the sales service, which changes them in the
same transaction as the checkout, void or refund. Nothing here writes them.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, CompoundSelect, Select, String, cast, func, literal, null, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from app.customers.models import Customer
from app.customers.schemas import phone_search_needles
from app.domain import Conflict
from app.extensions import db
from app.models import get_or_raise
from app.orders.models import Order
from app.sales.models import Sale

PHONE_TAKEN = "Already used by another customer."


def customers_query(q: str | None = None) -> Select[Customer]:
    """Customers by name; `q` matches part of the name (any case) or of the phone number."""
    query = select(Customer).order_by(func.lower(Customer.name), Customer.id)
    needle = (q or "").strip()
    if needle:
        match = func.lower(Customer.name).contains(needle.lower(), autoescape=True)
        phone_matches = [Customer.phone.contains(digits) for digits in sorted(phone_search_needles(needle))]
        match = or_(match, *phone_matches)
        query = query.where(match)
    return query


def get_customer(customer_id: int) -> Customer:
    return get_or_raise(Customer, customer_id, "customer")


def _check_phone_free(phone: str | None, exclude_id: int | None = None) -> None:
    if phone is None:
        return
    query = select(Customer.name).where(Customer.phone == phone)
    if exclude_id is not None:
        query = query.where(Customer.id != exclude_id)
    holder = db.session.scalar(query)
    if holder is not None:
        raise Conflict(f"The phone number {phone} belongs to another customer ({holder}).",
                       errors={"json": {"phone": [PHONE_TAKEN]}})


def _commit_or_conflict() -> None:
    """Commit; the phone's unique key lost to a concurrent request is a Conflict, not a 500."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("That phone number belongs to another customer.", errors={"json": {"phone": [PHONE_TAKEN]}})


def create_customer(data: Mapping[str, Any]) -> Customer:
    _check_phone_free(data.get("phone"))
    customer = Customer(**data)
    db.session.add(customer)
    _commit_or_conflict()
    return customer


def update_customer(customer_id: int, changes: Mapping[str, Any]) -> Customer:
    customer = get_customer(customer_id)
    if "phone" in changes:
        _check_phone_free(changes["phone"], exclude_id=customer_id)
    for field, value in changes.items():
        setattr(customer, field, value)
    _commit_or_conflict()
    return customer


def delete_customer(customer_id: int) -> None:
    """Delete a customer who never bought anything; one with purchases stays (their sales refer to them)."""
    customer = get_customer(customer_id)
    purchases = db.session.scalar(select(func.count()).select_from(_purchases(customer_id).subquery()))
    if purchases:
        raise Conflict(f"{customer.name} has {purchases} purchases on record and cannot be deleted.")
    db.session.delete(customer)
    try:
        db.session.commit()
    except IntegrityError:  # a sale for them committed meanwhile
        db.session.rollback()
        raise Conflict(f"{customer.name} has purchases on record and cannot be deleted.")


# Purchase history
#
# Each source is a function `customer_id -> select()` with the same labelled
# columns, in this order and with these types:
#     channel (str), sale_id (int | NULL), order_id (str | NULL), number (str),
#     created_at (timestamptz), status (str), total_idr (bigint), refunded_idr (bigint)
# The sources are combined with UNION ALL and sorted by time in the database,
# so paging stays exact however many sources there are.


def _pos_sales(customer_id: int) -> Select[*tuple[Any, ...]]:
    """Counter sales to the customer, voided and refunded ones included (with their status)."""
    return select(
        cast(literal("pos"), String).label("channel"),
        Sale.id.label("sale_id"),
        cast(null(), String).label("order_id"),
        Sale.number.label("number"),
        Sale.created_at.label("created_at"),
        Sale.status.label("status"),
        Sale.total_idr.label("total_idr"),
        Sale.refunded_idr.label("refunded_idr"),
    ).where(Sale.customer_id == customer_id)


def _online_orders(customer_id: int) -> Select[*tuple[Any, ...]]:
    """Online orders linked to the customer (an order is linked by phone when it is paid)."""
    return select(
        cast(literal("online"), String).label("channel"),
        cast(null(), BigInteger).label("sale_id"),
        cast(Order.id, String).label("order_id"),
        cast(Order.id, String).label("number"),
        func.coalesce(Order.paid_at, Order.created_at).label("created_at"),
        Order.status.label("status"),
        Order.total_idr.label("total_idr"),
        Order.refunded_idr.label("refunded_idr"),
    ).where(Order.customer_id == customer_id)


PURCHASE_SOURCES = (_pos_sales, _online_orders)


def _purchases(customer_id: int) -> CompoundSelect[*tuple[Any, ...]]:
    return union_all(*(source(customer_id) for source in PURCHASE_SOURCES))


def purchases_query(customer_id: int) -> Select[*tuple[Any, ...]]:
    """A customer's purchases from every channel, newest first (rows, not ORM objects)."""
    get_customer(customer_id)
    purchases = _purchases(customer_id).subquery("purchases")
    return select(purchases).order_by(
        purchases.c.created_at.desc(), purchases.c.channel, purchases.c.sale_id.desc(), purchases.c.order_id
    )
