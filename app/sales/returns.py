"""Returns at the counter: voiding today's sale, refunding lines of any sale.

Both lock the sale's row first (`_lock_sale`), so a void and a refund of the
same sale, or two refunds, take turns and never return a unit twice.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from app.auth.approvals import verify_approval
from app.customers.models import Customer
from app.domain import Conflict, NotFound, reject_field
from app.extensions import db
from app.inventory.models import Reason
from app.inventory.services import StockChange, apply_stock_changes
from app.models import utcnow
from app.sales import pricing
from app.sales.lookup import get_sale
from app.sales.models import Refund, RefundItem, Sale
from app.sales.numbering import business_date
from app.sales.statuses import SaleStatus
from app.users.models import CASHIER, User


def _lock_sale(store_id: int, sale_id: int, user: User, approval: Mapping[str, Any] | None,
               action: str) -> tuple[Sale, int | None]:
    """The sale, locked for this transaction and re-read, and who approved `action` (a cashier needs a PIN)."""
    get_sale(store_id, sale_id)  # 404 before a PIN is checked (and counted if wrong)
    approver_id = verify_approval(approval, action, requester=user).id if user.role == CASHIER else None
    sale = db.session.scalars(
        select(Sale).where(Sale.id == sale_id, Sale.store_id == store_id).with_for_update(of=Sale)
        .execution_options(populate_existing=True)
    ).first()
    if sale is None:
        raise NotFound(f"No sale with id {sale_id}.")
    return sale, approver_id


def void_sale(store_id: int, sale_id: int, user: User, reason: str, approval: Mapping[str, Any] | None = None) -> Sale:
    """Cancel today's sale: stock comes back once, the customer's totals are undone."""
    sale, approver_id = _lock_sale(store_id, sale_id, user, approval, "void a sale")
    if sale.status == SaleStatus.VOIDED:
        raise Conflict(f"Sale {sale.number} is already voided.")
    if sale.status != SaleStatus.COMPLETED:
        raise Conflict(f"Sale {sale.number} has refunds; refund the remaining lines instead of voiding.")
    if sale.business_date != business_date():
        raise Conflict(f"Only today's sales can be voided; refund sale {sale.number} instead.")
    sale.status = SaleStatus.VOIDED
    sale.voided_at = utcnow()
    sale.voided_by_id = user.id
    sale.void_approved_by_id = approver_id
    sale.void_reason = reason
    apply_stock_changes(
        store_id=store_id,
        changes=[StockChange(item.product_id, item.qty) for item in sale.items],
        reason=Reason.VOID,
        reference=f"sale:{sale.id}",
        user_id=user.id,
    )
    _undo_purchase(sale.customer_id, sale.total_idr, count=True)
    db.session.commit()
    return sale


def _undo_purchase(customer_id: int | None, amount_idr: int, count: bool) -> None:
    if customer_id is None:
        return
    values = {"total_spent_idr": Customer.total_spent_idr - amount_idr}
    if count:
        values["purchase_count"] = Customer.purchase_count - 1
    db.session.execute(update(Customer).where(Customer.id == customer_id).values(**values))


def refund_sale(store_id: int, sale_id: int, user: User, data: Mapping[str, Any]) -> Refund:
    """Give back some or all units of some lines; never more than was sold."""
    sale, approver_id = _lock_sale(store_id, sale_id, user, data.get("approval"), "refund a sale")
    if sale.status == SaleStatus.VOIDED:
        raise Conflict(f"Sale {sale.number} is voided; nothing to refund.")
    items = {item.id: item for item in sale.items}
    wanted: dict[int, int] = {}
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
    fully = all(i.refunded_qty == i.qty for i in sale.items)
    sale.status = SaleStatus.REFUNDED if fully else SaleStatus.PARTIALLY_REFUNDED
    db.session.add(refund)
    db.session.flush()
    if refund.restocked:
        apply_stock_changes(
            store_id=store_id,
            changes=[StockChange(line.product_id, line.qty) for line in refund.items],
            reason=Reason.REFUND,
            reference=f"refund:{refund.id}",
            user_id=user.id,
        )
    _undo_purchase(sale.customer_id, refund.amount_idr, count=False)
    db.session.commit()
    return refund
