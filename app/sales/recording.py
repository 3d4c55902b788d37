"""Writing a priced sale: the sale row with its number, its lines, its tenders and its Idempotency-Key record.

On PostgreSQL one statement writes all of them: the sale's number comes
from the day's sequence inside the INSERT, and the lines and tenders arrive
as two JSON arrays (one parameter each: cheaper to send than an array per
column) inserted in the order given, so the till's hot path pays for one
round trip instead of five. Elsewhere (SQLite, for a first look) each table
gets a plain INSERT. Either way nothing is committed here: the checkout
commits the sale together with its stock movements.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert

from app import idempotency
from app.driver_sql import DriverStatement
from app.extensions import db
from app.sales.models import Sale, SaleItem, SalePayment
from app.sales.numbering import allocate_sale_number, day_sequence, number_prefix

SALE_COLUMNS = (
    "store_id", "business_date", "status", "cashier_id", "customer_id", "subtotal_idr", "line_discount_idr",
    "sale_discount_idr", "discount_idr", "service_charge_idr", "tax_idr", "tax_name", "tax_rate_bp",
    "tax_inclusive", "service_charge_bp", "total_idr", "paid_idr", "change_idr", "refunded_idr", "note",
    "discount_approved_by_id", "receipt_prints", "created_at",
)
# Each line's and tender's columns, with their types as read from the JSON parameter.
ITEM_COLUMNS = {
    "product_id": "integer", "sku": "text", "name": "text", "qty": "integer", "unit_price_idr": "bigint",
    "line_discount_idr": "bigint", "sale_discount_share_idr": "bigint", "total_share_idr": "bigint",
    "refunded_qty": "integer", "refunded_idr": "bigint",
}
PAYMENT_COLUMNS = {"method": "text", "amount_idr": "bigint", "reference": "text"}


def _rows_of(parameter: str, alias: str, columns: Mapping[str, str]) -> str:
    """A JSON array parameter as rows in their order: `alias`(columns..., position)."""
    definition = ", ".join(f"{column} {type_}" for column, type_ in columns.items())
    return (f"ROWS FROM (jsonb_to_recordset(CAST(:{parameter} AS jsonb)) AS ({definition})) "
            f"WITH ORDINALITY AS {alias}({', '.join(columns)}, position)")


# The number is the day's prefix and the sequence's next value, at least four digits (S-20261126-0042).
_RECORD_SALE_PG = DriverStatement(f"""
    WITH next AS (
        SELECT nextval(CAST(:sequence AS regclass)) AS number
    ), sale AS (
        INSERT INTO sales (number, {", ".join(SALE_COLUMNS)})
        SELECT :number_prefix || lpad(CAST(next.number AS text), greatest(4, length(CAST(next.number AS text))), '0'),
               {", ".join(f":{column}" for column in SALE_COLUMNS)}
        FROM next
        RETURNING id, number
    ), items AS (
        INSERT INTO sale_items (sale_id, {", ".join(ITEM_COLUMNS)})
        SELECT sale.id, {", ".join(f"item.{column}" for column in ITEM_COLUMNS)}
        FROM sale, {_rows_of("items", "item", ITEM_COLUMNS)}
        ORDER BY item.position
        RETURNING id
    ), payments AS (
        INSERT INTO sale_payments (sale_id, {", ".join(PAYMENT_COLUMNS)})
        SELECT sale.id, {", ".join(f"payment.{column}" for column in PAYMENT_COLUMNS)}
        FROM sale, {_rows_of("payments", "payment", PAYMENT_COLUMNS)}
        ORDER BY payment.position
    ), key_record AS (
        INSERT INTO idempotency_keys (scope, key, request_hash, resource_id, response_status, created_at, expires_at)
        SELECT CAST(:key_scope AS text), CAST(:key_key AS text), CAST(:key_request_hash AS text), CAST(sale.id AS text),
               CAST(:key_response_status AS integer), CAST(:key_created_at AS timestamptz),
               CAST(:key_expires_at AS timestamptz)
        FROM sale
        WHERE CAST(:key_scope AS text) IS NOT NULL
    )
    SELECT sale.id, sale.number, ARRAY(SELECT id FROM items ORDER BY id) AS item_ids
    FROM sale
""")

_INSERT_SALE = insert(Sale.__table__).returning(Sale.__table__.c.id)
_INSERT_ITEMS = insert(SaleItem.__table__).returning(SaleItem.__table__.c.id, sort_by_parameter_order=True)
_INSERT_PAYMENTS = insert(SalePayment.__table__)


_KEY_COLUMNS = ("scope", "key", "request_hash", "response_status", "created_at", "expires_at")


def record_sale(sale: Mapping[str, Any], items: Sequence[Mapping[str, Any]], payments: Sequence[Mapping[str, Any]],
                key_record: Mapping[str, Any] | None = None) -> tuple[int, str, Sequence[int]]:
    """Insert the sale (numbered for its store and business date), its lines and tenders.

    `sale` holds SALE_COLUMNS, each item ITEM_COLUMNS and each payment
    PAYMENT_COLUMNS; `key_record` is the request's Idempotency-Key record
    (`Claim.record`), whose resource is the sale. Returns
    (sale id, number, item ids in the order given).
    """
    store_id, day = sale["store_id"], sale["business_date"]
    if db.session.get_bind().dialect.name == "postgresql":
        params = {
            **{column: sale[column] for column in SALE_COLUMNS},
            "sequence": day_sequence(store_id, day),
            "number_prefix": number_prefix(day),
            "items": json.dumps([{column: item[column] for column in ITEM_COLUMNS} for item in items]),
            "payments": json.dumps(payments),
            **{f"key_{column}": (key_record or {}).get(column) for column in _KEY_COLUMNS},
        }
        # Item ids follow the order of the SELECT's ORDER BY (SQLAlchemy's insertmanyvalues relies on the same).
        sale_id, number, item_ids = _RECORD_SALE_PG.one(params)
        return sale_id, number, item_ids

    number = allocate_sale_number(store_id, day)
    sale_id = db.session.execute(_INSERT_SALE, {**sale, "number": number}).scalar_one()
    item_ids = db.session.scalars(_INSERT_ITEMS, [{**item, "sale_id": sale_id} for item in items]).all()
    if payments:  # a sale discounted to zero has none; an empty list would insert one row of NULLs
        db.session.execute(_INSERT_PAYMENTS, [{**payment, "sale_id": sale_id} for payment in payments])
    if key_record is not None:
        idempotency.insert_record(key_record, sale_id)
    return sale_id, number, item_ids
