"""The checkout: ringing up a counter sale.

A checkout is one transaction: the sale, its lines and tenders, the `sale`
stock movements, the customer's running totals, the parked cart's removal
and the Idempotency-Key's record all commit together, or nothing does.
Stock is changed last, so its row locks are held for as short a time as
possible.

`load_sellable_products` and `price_lines` are the till's rules; a parked
cart is checked by them too (app/sales/carts.py).
"""

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Row, bindparam, delete, func, select, update

from app.auth.approvals import verify_approval
from app.catalog.models import Product
from app.customers.models import Customer
from app.domain import Conflict, reject_field
from app.driver_sql import DriverStatement
from app.extensions import db
from app.idempotency import Claim
from app.inventory.models import Reason
from app.inventory.services import InsufficientStock, StockChange, apply_stock_changes
from app.models import utcnow
from app.sales import pricing
from app.sales.models import Cart
from app.sales.numbering import business_date
from app.sales.recording import record_sale
from app.stores.models import Store
from app.users.models import CASHIER, User


class _ProductAndStore(NamedTuple):
    """A product on sale, with the store's pricing settings (a checkout reads both at once)."""

    id: int
    sku: str
    name: str
    price_idr: int
    is_active: bool
    tax_name: str | None
    tax_rate_bp: int
    tax_inclusive: bool
    service_charge_bp: int
    cashier_discount_limit_bp: int


_PRODUCT_FIELDS, _STORE_FIELDS = _ProductAndStore._fields[:5], _ProductAndStore._fields[5:]
_PRODUCT_COLUMNS = tuple(getattr(Product, field) for field in _PRODUCT_FIELDS)
_STORE_COLUMNS = tuple(getattr(Store, field) for field in _STORE_FIELDS)


_P = TypeVar("_P", _ProductAndStore, Row[*tuple[Any, ...]])


def _check_sellable(item_lines: Sequence[Mapping[str, Any]], products: dict[int, _P]) -> dict[int, _P]:
    for index, line in enumerate(item_lines):
        product = products.get(line["product_id"])
        if product is None:
            reject_field(f"No product with id {line['product_id']}.", ("items", index, "product_id"))
        if not product.is_active:
            reject_field(f"{product.name} is no longer sold.", ("items", index, "product_id"))
    return products


def load_sellable_products(item_lines: Sequence[Mapping[str, Any]]) -> dict[int, Row[*tuple[Any, ...]]]:
    product_ids = sorted({line["product_id"] for line in item_lines})
    rows = db.session.execute(select(*_PRODUCT_COLUMNS).where(Product.id.in_(product_ids))).all()
    return _check_sellable(item_lines, {row.id: row for row in rows})


_PRODUCTS_AND_STORE = DriverStatement(
    f"""
    SELECT {", ".join(f"product.{field}" for field in _PRODUCT_FIELDS)},
           {", ".join(f"store.{field}" for field in _STORE_FIELDS)}
    FROM products AS product JOIN stores AS store ON store.id = :store_id
    WHERE product.id = ANY(CAST(:product_ids AS integer[]))
    """,
    portable=select(*_PRODUCT_COLUMNS, *_STORE_COLUMNS)
    .join(Store, Store.id == bindparam("store_id"))
    .where(Product.id.in_(bindparam("product_ids", expanding=True))),
)


def _load_products_and_store(store_id: int, item_lines: Sequence[Mapping[str, Any]]
                             ) -> tuple[dict[int, _ProductAndStore], _ProductAndStore]:
    """The products and the store's pricing settings in one query (a checkout's hot path)."""
    product_ids = sorted({line["product_id"] for line in item_lines})
    rows = [_ProductAndStore(*row) for row in _PRODUCTS_AND_STORE.rows({"store_id": store_id, "product_ids": product_ids})]
    products = _check_sellable(item_lines, {row.id: row for row in rows})
    return products, rows[0]


def _discount_bp(data: Mapping[str, Any]) -> int | None:
    percent = data.get("discount_percent")
    return None if percent is None else pricing.percent_to_bp(percent)


def price_lines(data: Mapping[str, Any], products: Mapping[int, _ProductAndStore | Row[*tuple[Any, ...]]],
                store: Store | _ProductAndStore) -> pricing.PricedSale:
    lines = [
        pricing.LineIn(
            product_id=line["product_id"],
            unit_price_idr=products[line["product_id"]].price_idr,
            qty=line["qty"],
            discount_idr=line.get("discount_idr"),
            discount_bp=_discount_bp(line),
        )
        for line in data["items"]
    ]
    rates = pricing.Rates(store.tax_rate_bp, store.tax_inclusive, store.service_charge_bp)
    try:
        return pricing.price_sale(lines, rates, data.get("discount_idr"), _discount_bp(data))
    except pricing.PricingError as error:
        reject_field(str(error), error.field_path)


def _discount_approver(cashier: User, priced: pricing.PricedSale, store: _ProductAndStore,
                       approval: Mapping[str, Any] | None) -> int | None:
    """A cashier's discount above the store's limit needs a supervisor's PIN."""
    over_limit = priced.discount_idr * pricing.BP > priced.subtotal_idr * store.cashier_discount_limit_bp
    if cashier.role != CASHIER or not over_limit:
        return None
    return verify_approval(approval, "give a discount above the store's limit", requester=cashier).id


def _settle(priced: pricing.PricedSale, payments: Sequence[Mapping[str, Any]]) -> tuple[list[pricing.Tender], int, int]:
    tenders = [pricing.Tender(p["method"], p["amount_idr"], p.get("reference")) for p in payments]
    try:
        return tenders, *pricing.settle(priced.total_idr, tenders)
    except pricing.PricingError as error:
        reject_field(str(error), error.field_path)


def checkout(store_id: int, cashier: User, data: Mapping[str, Any], claim: Claim | None = None) -> dict[str, Any]:
    """Ring up a sale; returns the response body (the sale as the API shows it).

    The sale is written with plain statements (app/sales/recording.py) rather
    than the ORM's unit of work: this is the till's hot path, and the sale is
    built whole here anyway. `claim` is the request's Idempotency-Key claim
    (app/idempotency.py), recorded with the sale.
    """
    products, store = _load_products_and_store(store_id, data["items"])
    priced = price_lines(data, products, store)
    approver_id = _discount_approver(cashier, priced, store, data.get("approval"))
    tenders, paid, change = _settle(priced, data["payments"])

    sale = {
        "store_id": store_id,
        "business_date": business_date(),
        "status": "completed",
        "cashier_id": cashier.id,
        "customer_id": data.get("customer_id"),
        "subtotal_idr": priced.subtotal_idr,
        "line_discount_idr": priced.line_discount_idr,
        "sale_discount_idr": priced.sale_discount_idr,
        "discount_idr": priced.discount_idr,
        "service_charge_idr": priced.service_charge_idr,
        "tax_idr": priced.tax_idr,
        "tax_name": store.tax_name if store.tax_rate_bp else None,
        "tax_rate_bp": store.tax_rate_bp,
        "tax_inclusive": store.tax_inclusive,
        "service_charge_bp": store.service_charge_bp,
        "total_idr": priced.total_idr,
        "paid_idr": paid,
        "change_idr": change,
        "refunded_idr": 0,
        "note": data.get("note") or None,
        "discount_approved_by_id": approver_id,
        "receipt_prints": 0,
        "created_at": utcnow(),
    }
    items = [
        {
            "product_id": line.product_id,
            "sku": products[line.product_id].sku,
            "name": products[line.product_id].name,
            "qty": line.qty,
            "unit_price_idr": line.unit_price_idr,
            "line_discount_idr": line.line_discount_idr,
            "sale_discount_share_idr": line.sale_discount_share_idr,
            "total_share_idr": line.total_share_idr,
            "refunded_qty": 0,
            "refunded_idr": 0,
        }
        for line in priced.lines
    ]
    payments = [{"method": t.method, "amount_idr": t.amount_idr, "reference": t.reference} for t in tenders]

    customer = _record_purchase(data["customer_id"], priced.total_idr) if data.get("customer_id") is not None else None
    key_record = None if claim is None else claim.record(201)
    sale["id"], sale["number"], item_ids = record_sale(sale, items, payments, key_record)
    for item, item_id in zip(items, item_ids):
        item["id"] = item_id
    if data.get("cart_id") is not None:
        _remove_cart(store_id, data["cart_id"], cashier.id)
    _take_stock(store_id, sale["id"], items, cashier.id)
    body = _new_sale_body(sale, cashier, customer, items, payments)  # before the commit expires `customer`
    db.session.commit()
    return body


# What SaleOut shows of a sale and its own columns (the rest is nested or dated).
_SALE_BODY_COLUMNS = (
    "id", "number", "status", "subtotal_idr", "line_discount_idr", "sale_discount_idr", "discount_idr",
    "service_charge_idr", "tax_name", "tax_rate_bp", "tax_inclusive", "tax_idr", "total_idr", "paid_idr",
    "change_idr", "refunded_idr", "note",
)


def _new_sale_body(sale: Mapping[str, Any], cashier: User, customer: Customer | None, items: Sequence[Mapping[str, Any]],
                   payments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The sale just written, as SaleOut shows it, built from the values written.

    The till's hot path: a dump through the schema cost more than the whole
    response otherwise. Tests compare it with `GET /api/sales/{id}`.
    """
    return {
        **{column: sale[column] for column in _SALE_BODY_COLUMNS},
        "business_date": sale["business_date"].isoformat(),
        "cashier": {"id": cashier.id, "username": cashier.username, "full_name": cashier.full_name},
        "customer": None if customer is None else {"id": customer.id, "name": customer.name, "phone": customer.phone},
        "items": items,
        "payments": payments,
        "created_at": sale["created_at"].isoformat(),
        "voided_at": None,
        "void_reason": None,
    }


def _record_purchase(customer_id: int, total_idr: int) -> Customer | None:
    customer = db.session.scalars(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(
            purchase_count=Customer.purchase_count + 1,
            total_spent_idr=Customer.total_spent_idr + total_idr,
            last_purchase_at=utcnow(),
        )
        .returning(Customer)
    ).first()
    if customer is None:
        db.session.rollback()
        reject_field(f"No customer with id {customer_id}.", ("customer_id",))
    return customer


def _remove_cart(store_id: int, cart_id: int, user_id: int) -> None:
    """Close the parked cart this till is checking out, in the sale's transaction.

    A till closes only the cart it holds: the one its user last resumed, or
    parked if nobody has resumed it since (app/sales/carts.py). Any other id
    (a cart another till has resumed since, another cashier's cart, one
    already checked out) refuses the whole checkout: deleting a cart someone
    else is serving is worse than asking this till to try again.
    """
    holder = func.coalesce(Cart.resumed_by_id, Cart.created_by_id)
    at_store = (Cart.id == cart_id, Cart.store_id == store_id)
    removed = db.session.execute(delete(Cart).where(*at_store, holder == user_id)).rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult
    if not removed:
        held_elsewhere = db.session.scalar(select(func.count()).select_from(Cart).where(*at_store))
        db.session.rollback()
        if held_elsewhere:
            raise Conflict(f"Parked cart {cart_id} is held by another till: resume it here before checking it "
                           "out, or check out without cart_id.")
        raise Conflict("That parked cart was already checked out or deleted.")


def _take_stock(store_id: int, sale_id: int, items: Sequence[Mapping[str, Any]], user_id: int) -> None:
    try:
        apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(item["product_id"], -item["qty"]) for item in items],
            reason=Reason.SALE,
            reference=f"sale:{sale_id}",
            user_id=user_id,
        )
    except InsufficientStock:
        db.session.rollback()
        raise
