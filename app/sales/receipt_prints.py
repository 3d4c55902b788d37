"""Counting receipt prints: the first print is the original, every later one a copy (SALINAN)."""

from sqlalchemy import update

from app.domain import NotFound
from app.extensions import db
from app.sales.lookup import check_sale_id, get_sale
from app.sales.models import Sale


def count_receipt_print(store_id, sale_id):
    """Count this print; returns the sale and whether it is a reprint (a copy)."""
    check_sale_id(sale_id)
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
