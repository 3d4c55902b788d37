"""How much stock unpaid online orders may hold, so that no anonymous client can stop the selling.

An online order reserves its units when it is placed, before anyone has paid.
Without limits a stranger could place a few large orders, never pay, and leave
the till and the menu with nothing to sell until they expire. So (settings in
config.py, documented in the README):

- Unpaid orders (`pending` with `stock_reserved`) of a store together hold at
  most ONLINE_HOLD_MAX_PERCENT of each product's stock, rounded down; the rest
  is always the counter's. A product's stock here is what is on hand (the
  stock level, reservations already taken out) plus what unpaid orders hold.
- The unpaid orders of one client address hold at most
  ONLINE_HOLD_MAX_PERCENT_PER_CLIENT of it, rounded up (at least one unit).
- At most ORDER_MAX_PENDING_PER_ADDRESS unpaid orders per client address and
  ORDER_MAX_PENDING_PER_PHONE per phone number are open at once.
- The hold itself is short (ORDER_HOLD_MINUTES) until a payment is started
  (app/payments/attempts.py extends it).

The share is checked after `apply_stock_changes` has locked the order's stock
rows: a racing order for the same product waits on that lock, and under READ
COMMITTED the statements run after it see what the winner committed, so two
orders can never both take the last of the online share. The pending counts
are made exact the same way by a transaction-level advisory lock per address
and phone on PostgreSQL (SQLite runs one writer at a time).
"""

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import ColumnElement, case, func, select, text

from app.domain import Conflict, TooManyAttempts
from app.extensions import db
from app.inventory.models import StockLevel
from app.orders.models import Order, OrderItem, OrderStatus


class TooManyPendingOrders(TooManyAttempts):
    """This address or phone number already has as many unpaid orders as allowed."""


@dataclass(frozen=True)
class ShareExceeded:
    index: int  # the order line
    product_id: int
    name: str
    requested: int
    can_order: int
    by_client: bool  # the client's own share ran out, not the shop's online share


class OnlineShareExceeded(Conflict):
    """Some lines would take more than unpaid online orders may hold; nothing may be committed."""

    def __init__(self, lines: list[ShareExceeded]) -> None:
        self.lines = lines
        messages = {line.index: describe(line) for line in lines}
        super().__init__(" ".join(messages.values()),
                         errors={"json": {"items": {index: {"qty": [message]} for index, message in messages.items()}}})


# Caps on open unpaid orders


def check_pending_caps(client_address: str | None, phone: str | None) -> None:
    """Raise TooManyPendingOrders when this address or phone already has its unpaid orders; locks both first."""
    config = current_app.config
    _lock_for_this_transaction(f"orders-address:{client_address}", f"orders-phone:{phone}")
    by_address = _pending_count(Order.client_address == client_address)
    if by_address >= config["ORDER_MAX_PENDING_PER_ADDRESS"]:
        raise TooManyPendingOrders(
            f"This address already has {by_address} unpaid orders. Pay one of them, or wait until an earlier "
            "order is paid or expires, before placing another.")
    by_phone = _pending_count(Order.customer_phone == phone)
    if by_phone >= config["ORDER_MAX_PENDING_PER_PHONE"]:
        raise TooManyPendingOrders(
            f"This phone number already has {by_phone} unpaid orders. Pay one of them, or wait until an earlier "
            "order is paid or expires, before placing another.")


def _pending_count(condition: ColumnElement[bool]) -> int:
    return db.session.execute(
        select(func.count()).select_from(Order).where(condition, Order.status == OrderStatus.PENDING)
    ).scalar_one()


def _lock_for_this_transaction(*names: str) -> None:
    """PostgreSQL advisory locks held until commit or rollback, taken in one order so two callers never deadlock."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
                   for name in names})
    for key in keys:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# The online share of each product's stock


def online_cap(stock: int) -> int:
    return stock * current_app.config["ONLINE_HOLD_MAX_PERCENT"] // 100


def client_cap(stock: int) -> int:
    return -(-stock * current_app.config["ONLINE_HOLD_MAX_PERCENT_PER_CLIENT"] // 100)


def held_by_unpaid_orders(store_id: int, product_ids: Collection[int] | None = None,
                          client_address: str | None = None) -> dict[int, tuple[int, int]]:
    """{product_id: (units all unpaid orders hold, units this client's unpaid orders hold)} at the store."""
    by_client = OrderItem.qty if client_address is None else case(
        (Order.client_address == client_address, OrderItem.qty), else_=0)
    query = (
        select(OrderItem.product_id, func.sum(OrderItem.qty), func.sum(by_client))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.store_id == store_id, Order.status == OrderStatus.PENDING, Order.stock_reserved.is_(True))
        .group_by(OrderItem.product_id)
    )
    if product_ids is not None:
        query = query.where(OrderItem.product_id.in_(list(product_ids)))
    return {product_id: (int(total), int(mine)) for product_id, total, mine in db.session.execute(query)}


def orderable_online(on_hand: int, held: int) -> int:
    """Units one more online order may take: what is on hand, within what is left of the online share."""
    return max(0, min(on_hand, online_cap(on_hand + held) - held))


def check_online_share(store_id: int, order: Order, client_address: str | None) -> None:
    """Raise OnlineShareExceeded if the order (flushed, its stock taken and locked) goes past a share.

    Runs after `apply_stock_changes`, so the order's own lines are in the held
    units and out of the on-hand ones.
    """
    product_ids = [item.product_id for item in order.items]
    on_hand = dict(db.session.execute(
        select(StockLevel.product_id, StockLevel.quantity)
        .where(StockLevel.store_id == store_id, StockLevel.product_id.in_(product_ids))
    ).all())
    held = held_by_unpaid_orders(store_id, product_ids, client_address)
    refused = []
    for index, item in enumerate(order.items):
        total_held, client_held = held[item.product_id]
        stock = on_hand.get(item.product_id, 0) + total_held
        online_left = max(0, min(on_hand.get(item.product_id, 0) + item.qty,
                                 online_cap(stock) - (total_held - item.qty)))
        client_left = max(0, min(online_left, client_cap(stock) - (client_held - item.qty)))
        if item.qty > client_left:
            refused.append(ShareExceeded(index, item.product_id, item.name, item.qty, client_left,
                                         by_client=client_left < online_left))
    if refused:
        raise OnlineShareExceeded(refused)


def describe(line: ShareExceeded) -> str:
    """What the customer reads about one refused line."""
    if line.by_client:
        if line.can_order:
            return (f"Only {line.can_order} more of {line.name} can be ordered from this address until your "
                    "unpaid orders are paid or expire.")
        return f"No more {line.name} can be ordered from this address until your unpaid orders are paid or expire."
    if line.can_order:
        return f"Only {line.can_order} of {line.name} can be ordered online now."
    return f"{line.name} cannot be ordered online now."
