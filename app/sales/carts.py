"""Parked carts: a till's cart saved so the queue can move, resumed later on any till.

A parked cart reserves nothing: stock is taken only when it is checked out,
and prices are those of the moment of checkout. Its content is validated as
the checkout would validate it (known, active products; discounts that fit
the lines; a customer that exists), so what is resumed can be checked out.
Checkout with `cart_id` deletes the cart in the sale's transaction, which is
what stops one cart from being sold twice from two tills. A till checks out
only the cart it holds: the one its user resumed last, or parked if nobody
has resumed it since; resuming on another till takes the cart over. Any other
`cart_id` refuses the checkout (409) and deletes nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, select, update

from app.catalog.models import Product
from app.customers.models import Customer
from app.domain import NotFound, reject_field
from app.extensions import db
from app.inventory.services import with_stock
from app.models import utcnow
from app.sales import checkout as checkout_rules
from app.sales.models import Cart
from app.stores.models import Store


@dataclass
class ResumedCart:
    """A cart as a till shows it on resuming: its lines with today's name, price and stock."""

    cart: Cart
    items: list[dict[str, Any]] = field(default_factory=list)
    customer: Customer | None = None


def carts_query(store_id: int) -> Select[Cart]:
    """The store's parked carts, oldest first (the customer who has waited longest)."""
    return select(Cart).where(Cart.store_id == store_id).order_by(Cart.created_at, Cart.id)


def get_cart(store_id: int, cart_id: int, for_update: bool = False) -> Cart:
    query = select(Cart).where(Cart.id == cart_id, Cart.store_id == store_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    cart = db.session.scalars(query).first()
    if cart is None:
        raise NotFound(f"No parked cart with id {cart_id}; it may have been checked out or deleted.")
    return cart


def _check_like_checkout(store_id: int, content: Mapping[str, Any]) -> None:
    """Invalid for what the checkout would refuse, except payments (not given yet)."""
    # The checkout's own rules, so a cart is never parked that checkout would refuse.
    products = checkout_rules.load_sellable_products(content["items"])
    checkout_rules.price_lines(content, products, db.session.get_one(Store, store_id))
    customer_id = content.get("customer_id")
    if customer_id is not None and db.session.get(Customer, customer_id) is None:
        reject_field(f"No customer with id {customer_id}.", ("customer_id",))


def _as_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent fields; percents (Decimal) as strings so they are stored exactly."""
    return {name: str(value) if name == "discount_percent" else value
            for name, value in values.items() if value is not None}


def _stored_content(data: Mapping[str, Any]) -> dict[str, Any]:
    content = _as_json({name: value for name, value in data.items() if name not in ("label", "items")})
    content["items"] = [_as_json(line) for line in data["items"]]
    return content


def park_cart(store_id: int, user_id: int, data: Mapping[str, Any]) -> Cart:
    _check_like_checkout(store_id, data)
    cart = Cart(store_id=store_id, label=data["label"], content=_stored_content(data), created_by_id=user_id)
    db.session.add(cart)
    db.session.commit()
    return cart


def replace_cart(store_id: int, cart_id: int, data: Mapping[str, Any]) -> Cart:
    """Put new content in a parked cart (the customer added or dropped something)."""
    cart = get_cart(store_id, cart_id, for_update=True)  # a concurrent checkout waits, or has removed it
    _check_like_checkout(store_id, data)
    cart.label = data["label"]
    cart.content = _stored_content(data)
    db.session.commit()
    return cart


def delete_cart(store_id: int, cart_id: int) -> None:
    removed = db.session.execute(delete(Cart).where(Cart.id == cart_id, Cart.store_id == store_id)).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult
    if not removed:
        raise NotFound(f"No parked cart with id {cart_id}; it may have been checked out or deleted.")
    db.session.commit()


def resume_cart(store_id: int, cart_id: int, user_id: int) -> ResumedCart:
    """Record who resumed it and when; returns it with today's product details.

    Resuming again (the first till closed, say) is allowed and records the
    newer till, which then holds it: only that till's checkout closes it.
    """
    cart = db.session.scalars(
        update(Cart)
        .where(Cart.id == cart_id, Cart.store_id == store_id)
        .values(resumed_by_id=user_id, resumed_at=utcnow())
        .returning(Cart)
    ).first()
    if cart is None:
        raise NotFound(f"No parked cart with id {cart_id}; it may have been checked out or deleted.")
    db.session.commit()
    return ResumedCart(cart=cart, items=_with_products(store_id, cart.content["items"]),
                       customer=_customer(cart.content.get("customer_id")))


def _with_products(store_id: int, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    product_ids = {line["product_id"] for line in lines}
    products = {
        product.id: product
        for product in db.session.scalars(with_stock(select(Product), store_id).where(Product.id.in_(product_ids)))
    }
    enriched = []
    for line in lines:
        product = products.get(line["product_id"])
        details = (
            {"name": product.name, "price_idr": product.price_idr, "stock": product.stock, "is_active": product.is_active}
            if product is not None
            else {"name": None, "price_idr": None, "stock": None, "is_active": False}
        )
        enriched.append({**line, **details})
    return enriched


def _customer(customer_id: int | None) -> Customer | None:
    return db.session.get(Customer, customer_id) if customer_id is not None else None
