"""Reports: per-day summaries of closed days (sales, tenders, cashiers, products), the days built,
report exports; an index for online orders by payment time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('daily_sales',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('items_sold', sa.BigInteger(), nullable=False),
    sa.Column('gross_idr', sa.BigInteger(), nullable=False),
    sa.Column('discount_idr', sa.BigInteger(), nullable=False),
    sa.Column('service_charge_idr', sa.BigInteger(), nullable=False),
    sa.Column('tax_idr', sa.BigInteger(), nullable=False),
    sa.Column('net_idr', sa.BigInteger(), nullable=False),
    sa.Column('refunds_idr', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_daily_sales_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'business_date', 'channel', name=op.f('pk_daily_sales'))
    )
    op.create_table('daily_tenders',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('payments_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_daily_tenders_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'business_date', 'method', name=op.f('pk_daily_tenders'))
    )
    op.create_table('summary_days',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_summary_days_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'business_date', name=op.f('pk_summary_days'))
    )
    op.create_table('daily_cashiers',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('cashier_id', sa.Integer(), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('net_idr', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['cashier_id'], ['users.id'], name=op.f('fk_daily_cashiers_cashier_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_daily_cashiers_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'business_date', 'cashier_id', name=op.f('pk_daily_cashiers'))
    )
    op.create_table('daily_products',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('revenue_idr', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_daily_products_product_id_products')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_daily_products_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'business_date', 'product_id', name=op.f('pk_daily_products'))
    )
    with op.batch_alter_table('daily_products', schema=None) as batch_op:
        batch_op.create_index('ix_daily_products_store_date', ['store_id', 'business_date'], unique=False)

    op.create_table('report_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('report', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('row_count', sa.BigInteger(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("format IN ('csv', 'xlsx')", name=op.f('ck_report_exports_format_known')),
    sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed', 'expired')", name=op.f('ck_report_exports_status_known')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_report_exports_requested_by_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_report_exports_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_exports'))
    )
    with op.batch_alter_table('report_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_exports_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index('ix_report_exports_status_created', ['status', 'created_at'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_store_paid', ['store_id', 'paid_at'], unique=False)



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_paid')

    with op.batch_alter_table('report_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_report_exports_status_created')
        batch_op.drop_index(batch_op.f('ix_report_exports_requested_by_id'))

    op.drop_table('report_exports')
    with op.batch_alter_table('daily_products', schema=None) as batch_op:
        batch_op.drop_index('ix_daily_products_store_date')

    op.drop_table('daily_products')
    op.drop_table('daily_cashiers')
    op.drop_table('summary_days')
    op.drop_table('daily_tenders')
    op.drop_table('daily_sales')
