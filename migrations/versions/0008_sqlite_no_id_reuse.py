"""SQLite never reuses an id: AUTOINCREMENT on the tables whose ids the API hands out.

Without AUTOINCREMENT, SQLite gives a new row the highest id plus one, so the
id of a deleted last row comes back: a parked cart checked out and a new one
parked got the same id, and a till still holding the old id closed the new
cart. PostgreSQL's sequences never hand out an id twice: nothing to do there.
SQLite cannot add AUTOINCREMENT to a table, so each is recreated (batch mode
copies the rows; `sqlite_sequence` starts from the highest id copied).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = (
    'stores', 'users', 'categories', 'products', 'product_imports', 'customers', 'stock_movements', 'stock_takes',
    'sales', 'sale_items', 'sale_payments', 'refunds', 'refund_items', 'carts', 'order_items', 'payment_attempts',
    'webhook_logs', 'payment_events', 'report_exports',
)


def _recreate(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    # SQLite's reflection skips expression indexes, so the copy would lose this one: made again below.
    op.drop_index('uq_categories_name_lower', table_name='categories')
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass
    op.create_index('uq_categories_name_lower', 'categories', [sa.text('lower(name)')], unique=True)


def upgrade():
    _recreate(True)


def downgrade():
    _recreate(False)
