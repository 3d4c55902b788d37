"""Counter sales: checkout, voids, refunds, and looking sales up.

A checkout is one transaction: the sale, its lines and tenders, the `sale`
stock movements, the customer's running totals, the parked cart's removal
and the Idempotency-Key's record all commit together, or nothing does.
Stock is changed last, so its row locks are held for as short a time as
possible.
"""

from typing import NamedTuple

from sqlalchemy import bindparam, delete, exists, func, select, update

from app import idempotency
from app.auth.approvals import verify_approval
from app.catalog.models import Product
from app.customers.models import Customer
from app.domain import Conflict, Invalid, NotFound
from app.driver_sql import DriverStatement
from app.extensions import db
from app.inventory.services import InsufficientStock, StockChange, apply_stock_changes
from app.models import utcnow
from app.sales import pricing
from app.sales.models import Cart, Refund, RefundItem, Sale, SalePayment
from app.sales.numbering import business_date
from app.sales.recording import record_sale
from app.sales.schemas import BIGINT_ID_MAX, SaleOut
from app.stores.models import Store
from app.users.models import CASHIER

_sale_out = SaleOut()


def reject_field(message, path):
    """Raise Invalid with the error placed at the request field it concerns."""
    errors = [message]
    for part in reversed(path):
        errors = {part: errors}
    raise Invalid(message, errors={"json": errors})


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


def _check_sellable(item_lines, products):
    for index, line in enumerate(item_lines):
        product = products.get(line["product_id"])
        if product is None:
            reject_field(f"No product with id {line['product_id']}.", ("items", index, "product_id"))
        if not product.is_active:
            reject_field(f"{product.name} is no longer sold.", ("items", index, "product_id"))
    return products


def load_sellable_products(item_lines):
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


def _load_products_and_store(store_id, item_lines):
    """The products and the store's pricing settings in one query (a checkout's hot path)."""
    product_ids = sorted({line["product_id"] for line in item_lines})
    rows = [_ProductAndStore(*row) for row in _PRODUCTS_AND_STORE.rows({"store_id": store_id, "product_ids": product_ids})]
    products = _check_sellable(item_lines, {row.id: row for row in rows})
    return products, rows[0]


def _discount_bp(data):
    percent = data.get("discount_percent")
    return None if percent is None else pricing.percent_to_bp(percent)


def price_lines(data, products, store):
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


def _discount_approver(cashier, priced, store, approval):
    """A cashier's discount above the store's limit needs a supervisor's PIN."""
    over_limit = priced.discount_idr * pricing.BP > priced.subtotal_idr * store.cashier_discount_limit_bp
    if cashier.role != CASHIER or not over_limit:
        return None
    return verify_approval(approval, "give a discount above the store's limit", requester=cashier).id


def _settle(priced, payments):
    tenders = [pricing.Tender(p["method"], p["amount_idr"], p.get("reference")) for p in payments]
    try:
        return tenders, *pricing.settle(priced.total_idr, tenders)
    except pricing.PricingError as error:
        reject_field(str(error), error.field_path)


def checkout(store_id, cashier, data):
    """Ring up a sale; returns the response body (the sale as the API shows it).

    The sale is written with plain statements (app/sales/recording.py) rather
    than the ORM's unit of work: this is the till's hot path, and the sale is
    built whole here anyway.
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
    key_record = idempotency.completion_record(201)
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


def _new_sale_body(sale, cashier, customer, items, payments):
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


def _record_purchase(customer_id, total_idr):
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


def _remove_cart(store_id, cart_id, user_id):
    """Close the parked cart this till is checking out, in the sale's transaction.

    A till closes only the cart it holds: the one its user last resumed, or
    parked if nobody has resumed it since (app/sales/carts.py). Any other id
    (a cart another till has resumed since, another cashier's cart, one
    already checked out) refuses the whole checkout: deleting a cart someone
    else is serving is worse than asking this till to try again.
    """
    holder = func.coalesce(Cart.resumed_by_id, Cart.created_by_id)
    at_store = (Cart.id == cart_id, Cart.store_id == store_id)
    removed = db.session.execute(delete(Cart).where(*at_store, holder == user_id)).rowcount
    if not removed:
        held_elsewhere = db.session.scalar(select(func.count()).select_from(Cart).where(*at_store))
        db.session.rollback()
        if held_elsewhere:
            raise Conflict(f"Parked cart {cart_id} is held by another till: resume it here before checking it "
                           "out, or check out without cart_id.")
        raise Conflict("That parked cart was already checked out or deleted.")


def _take_stock(store_id, sale_id, items, user_id):
    try:
        apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(item["product_id"], -item["qty"]) for item in items],
            reason="sale",
            reference=f"sale:{sale_id}",
            user_id=user_id,
        )
    except InsufficientStock:
        db.session.rollback()
        raise


# Reading


def _check_sale_id(sale_id):
    """An id past what the sales table holds is no sale: NotFound, not an out-of-range error from the database."""
    if not 0 < sale_id <= BIGINT_ID_MAX:
        raise NotFound(f"No sale with id {sale_id}.")


def get_sale(store_id, sale_id):
    _check_sale_id(sale_id)
    sale = db.session.scalars(select(Sale).where(Sale.id == sale_id, Sale.store_id == store_id)).first()
    if sale is None:
        raise NotFound(f"No sale with id {sale_id}.")
    return sale


def sale_body(store_id, sale_id):
    """The sale as the API shows it (used to replay an idempotent checkout)."""
    return _sale_out.dump(get_sale(store_id, int(sale_id)))


def sales_query(store_id, date_from=None, date_to=None, cashier_id=None, customer_id=None, status=None,
                method=None, number=None):
    query = select(Sale).where(Sale.store_id == store_id).order_by(Sale.id.desc())
    if date_from:
        query = query.where(Sale.business_date >= date_from)
    if date_to:
        query = query.where(Sale.business_date <= date_to)
    if cashier_id is not None:
        query = query.where(Sale.cashier_id == cashier_id)
    if customer_id is not None:
        query = query.where(Sale.customer_id == customer_id)
    if status:
        query = query.where(Sale.status == status)
    if method:
        query = query.where(exists().where(SalePayment.sale_id == Sale.id, SalePayment.method == method))
    if number:
        query = query.where(Sale.number == number.strip().upper())
    return query


# Voids and refunds


def _approver_for(user, approval, action):
    return verify_approval(approval, action, requester=user).id if user.role == CASHIER else None


def void_sale(store_id, sale_id, user, reason, approval=None):
    """Cancel today's sale: stock comes back once, the customer's totals are undone."""
    get_sale(store_id, sale_id)  # 404 before a PIN is checked (and counted if wrong)
    approver_id = _approver_for(user, approval, "void a sale")
    sale = db.session.scalars(
        select(Sale).where(Sale.id == sale_id, Sale.store_id == store_id).with_for_update(of=Sale)
        .execution_options(populate_existing=True)
    ).first()
    if sale is None:
        raise NotFound(f"No sale with id {sale_id}.")
    if sale.status == "voided":
        raise Conflict(f"Sale {sale.number} is already voided.")
    if sale.status != "completed":
        raise Conflict(f"Sale {sale.number} has refunds; refund the remaining lines instead of voiding.")
    if sale.business_date != business_date():
        raise Conflict(f"Only today's sales can be voided; refund sale {sale.number} instead.")
    sale.status = "voided"
    sale.voided_at = utcnow()
    sale.voided_by_id = user.id
    sale.void_approved_by_id = approver_id
    sale.void_reason = reason
    apply_stock_changes(
        store_id=store_id,
        changes=[StockChange(item.product_id, item.qty) for item in sale.items],
        reason="void",
        reference=f"sale:{sale.id}",
        user_id=user.id,
    )
    _undo_purchase(sale.customer_id, sale.total_idr, count=True)
    db.session.commit()
    return sale


def _undo_purchase(customer_id, amount_idr, count):
    if customer_id is None:
        return
    values = {"total_spent_idr": Customer.total_spent_idr - amount_idr}
    if count:
        values["purchase_count"] = Customer.purchase_count - 1
    db.session.execute(update(Customer).where(Customer.id == customer_id).values(**values))


def refund_sale(store_id, sale_id, user, data):
    """Give back some or all units of some lines; never more than was sold."""
    get_sale(store_id, sale_id)  # 404 before a PIN is checked (and counted if wrong)
    approver_id = _approver_for(user, data.get("approval"), "refund a sale")
    sale = db.session.scalars(
        select(Sale).where(Sale.id == sale_id, Sale.store_id == store_id).with_for_update(of=Sale)
        .execution_options(populate_existing=True)
    ).first()
    if sale is None:
        raise NotFound(f"No sale with id {sale_id}.")
    if sale.status == "voided":
        raise Conflict(f"Sale {sale.number} is voided; nothing to refund.")
    items = {item.id: item for item in sale.items}
    wanted = {}
    for index, line in enumerate(data["items"]):
        if line["sale_item_id"] not in items:
            reject_field(f"Sale {sale.number} has no line {line['sale_item_id']}.", ("items", index, "sale_item_id"))
        wanted[line["sale_item_id"]] = wanted.get(line["sale_item_id"], 0) + line["qty"]

    refund = Refund(sale_id=sale.id, store_id=store_id, method=data["method"], reason=data["reason"],
                    restocked=data["restock"], user_id=user.id, approved_by_id=approver_id, created_at=utcnow())
    for item_id, qty in wanted.items():
        item = items[item_id]
        if item.refunded_qty + qty > item.qty:
            raise Conflict(f"Line '{item.name}' sold {item.qty} and {item.refunded_qty} are already refunded; "
                           f"{qty} more is too many.")
        amount = pricing.refund_amount(item.total_share_idr, item.qty, item.refunded_qty, qty)
        item.refunded_qty += qty
        item.refunded_idr += amount
        refund.items.append(RefundItem(sale_item_id=item.id, product_id=item.product_id, qty=qty, amount_idr=amount))
    refund.amount_idr = sum(line.amount_idr for line in refund.items)
    sale.refunded_idr += refund.amount_idr
    sale.status = "refunded" if all(i.refunded_qty == i.qty for i in sale.items) else "partially_refunded"
    db.session.add(refund)
    db.session.flush()
    if refund.restocked:
        apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(line.product_id, line.qty) for line in refund.items],
            reason="refund",
            reference=f"refund:{refund.id}",
            user_id=user.id,
        )
    _undo_purchase(sale.customer_id, refund.amount_idr, count=False)
    db.session.commit()
    return refund


def refunds_of(store_id, sale_id):
    get_sale(store_id, sale_id)
    return db.session.scalars(select(Refund).where(Refund.sale_id == sale_id).order_by(Refund.id)).all()


def count_receipt_print(store_id, sale_id):
    """Count this print; returns the sale and whether it is a reprint (a copy)."""
    _check_sale_id(sale_id)
    prints = db.session.scalar(
        update(Sale)
        .where(Sale.id == sale_id, Sale.store_id == store_id)
        .values(receipt_prints=Sale.receipt_prints + 1)
        .returning(Sale.receipt_prints)
    )
    if prints is None:
        raise NotFound(f"No sale with id {sale_id}.")
    db.session.commit()
    return get_sale(store_id, sale_id), prints > 1
