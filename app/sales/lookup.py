"""Looking sales up: one sale, the sales list, a sale's refunds."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, exists, select

from app.domain import NotFound
from app.extensions import db
from app.sales.models import Refund, Sale, SalePayment
from app.sales.schemas import BIGINT_ID_MAX, SaleOut

_sale_out = SaleOut()


def check_sale_id(sale_id: int) -> None:
    """An id past what the sales table holds is no sale: NotFound, not an out-of-range error from the database."""
    if not 0 < sale_id <= BIGINT_ID_MAX:
        raise NotFound(f"No sale with id {sale_id}.")


def get_sale(store_id: int, sale_id: int) -> Sale:
    check_sale_id(sale_id)
    sale = db.session.scalars(select(Sale).where(Sale.id == sale_id, Sale.store_id == store_id)).first()
    if sale is None:
        raise NotFound(f"No sale with id {sale_id}.")
    return sale


def sale_body(store_id: int, sale_id: int | str) -> dict[str, Any]:
    """The sale as the API shows it (used to replay an idempotent checkout)."""
    return _sale_out.dump(get_sale(store_id, int(sale_id)))


def sales_query(store_id: int, date_from: date | None = None, date_to: date | None = None, cashier_id: int | None = None,
                customer_id: int | None = None, status: str | None = None, method: str | None = None,
                number: str | None = None) -> Select[Sale]:
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


def refunds_of(store_id: int, sale_id: int) -> Sequence[Refund]:
    get_sale(store_id, sale_id)
    return db.session.scalars(select(Refund).where(Refund.sale_id == sale_id).order_by(Refund.id)).all()
