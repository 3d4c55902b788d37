"""Counter sales (sales, lines, tenders, refunds, numbering, parked carts), customers,
Idempotency-Key records, store tax and receipt settings, approval PINs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('purchase_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total_spent_idr', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_purchase_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('purchase_count >= 0', name=op.f('ck_customers_purchase_count_not_negative')),
    sa.CheckConstraint('total_spent_idr >= 0', name=op.f('ck_customers_total_spent_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('phone', name=op.f('uq_customers_phone'))
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=120), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('scope', 'key', name='uq_idempotency_keys_scope_key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_expires_at'), ['expires_at'], unique=False)

    op.create_table('sale_counters',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_sale_counters_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'business_date', name=op.f('pk_sale_counters'))
    )
    op.create_table('carts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('resumed_by_id', sa.Integer(), nullable=True),
    sa.Column('resumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_carts_created_by_id_users')),
    sa.ForeignKeyConstraint(['resumed_by_id'], ['users.id'], name=op.f('fk_carts_resumed_by_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_carts_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carts'))
    )
    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carts_store_id'), ['store_id'], unique=False)

    op.create_table('sales',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('cashier_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('subtotal_idr', sa.BigInteger(), nullable=False),
    sa.Column('line_discount_idr', sa.BigInteger(), nullable=False),
    sa.Column('sale_discount_idr', sa.BigInteger(), nullable=False),
    sa.Column('discount_idr', sa.BigInteger(), nullable=False),
    sa.Column('service_charge_idr', sa.BigInteger(), nullable=False),
    sa.Column('tax_idr', sa.BigInteger(), nullable=False),
    sa.Column('tax_name', sa.String(length=16), nullable=True),
    sa.Column('tax_rate_bp', sa.Integer(), nullable=False),
    sa.Column('tax_inclusive', sa.Boolean(), nullable=False),
    sa.Column('service_charge_bp', sa.Integer(), nullable=False),
    sa.Column('total_idr', sa.BigInteger(), nullable=False),
    sa.Column('paid_idr', sa.BigInteger(), nullable=False),
    sa.Column('change_idr', sa.BigInteger(), nullable=False),
    sa.Column('refunded_idr', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('discount_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('receipt_prints', sa.Integer(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('completed', 'partially_refunded', 'refunded', 'voided')", name=op.f('ck_sales_status_known')),
    sa.CheckConstraint('paid_idr >= total_idr AND change_idr = paid_idr - total_idr', name=op.f('ck_sales_fully_paid')),
    sa.CheckConstraint('refunded_idr >= 0 AND refunded_idr <= total_idr', name=op.f('ck_sales_refund_within_total')),
    sa.CheckConstraint('subtotal_idr >= 0 AND discount_idr >= 0 AND discount_idr <= subtotal_idr', name=op.f('ck_sales_amounts_valid')),
    sa.CheckConstraint('tax_idr >= 0 AND service_charge_idr >= 0 AND total_idr >= 0', name=op.f('ck_sales_totals_not_negative')),
    sa.ForeignKeyConstraint(['cashier_id'], ['users.id'], name=op.f('fk_sales_cashier_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sales_customer_id_customers')),
    sa.ForeignKeyConstraint(['discount_approved_by_id'], ['users.id'], name=op.f('fk_sales_discount_approved_by_id_users')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_sales_store_id_stores')),
    sa.ForeignKeyConstraint(['void_approved_by_id'], ['users.id'], name=op.f('fk_sales_void_approved_by_id_users')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_sales_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales')),
    sa.UniqueConstraint('store_id', 'number', name='uq_sales_store_number')
    )
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_cashier_id'), ['cashier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_sales_store_business_date', ['store_id', 'business_date'], unique=False)
        batch_op.create_index('ix_sales_store_created', ['store_id', 'created_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('restocked', sa.Boolean(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('cash', 'card', 'qris', 'transfer')", name=op.f('ck_refunds_method_known')),
    sa.CheckConstraint('amount_idr >= 0', name=op.f('ck_refunds_amount_not_negative')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_refunds_approved_by_id_users')),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_refunds_sale_id_sales')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_refunds_store_id_stores')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refunds_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_sale_id'), ['sale_id'], unique=False)

    op.create_table('sale_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('unit_price_idr', sa.BigInteger(), nullable=False),
    sa.Column('line_discount_idr', sa.BigInteger(), nullable=False),
    sa.Column('sale_discount_share_idr', sa.BigInteger(), nullable=False),
    sa.Column('total_share_idr', sa.BigInteger(), nullable=False),
    sa.Column('refunded_qty', sa.Integer(), nullable=False),
    sa.Column('refunded_idr', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('line_discount_idr >= 0 AND sale_discount_share_idr >= 0', name=op.f('ck_sale_items_discounts_not_negative')),
    sa.CheckConstraint('qty > 0', name=op.f('ck_sale_items_qty_positive')),
    sa.CheckConstraint('refunded_qty >= 0 AND refunded_qty <= qty', name=op.f('ck_sale_items_refund_within_qty')),
    sa.CheckConstraint('total_share_idr >= 0', name=op.f('ck_sale_items_share_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_sale_items_product_id_products')),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_sale_items_sale_id_sales')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_items'))
    )
    with op.batch_alter_table('sale_items', schema=None) as batch_op:
        batch_op.create_index('ix_sale_items_product', ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sale_items_sale_id'), ['sale_id'], unique=False)

    op.create_table('sale_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sale_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.CheckConstraint("method IN ('cash', 'card', 'qris', 'transfer')", name=op.f('ck_sale_payments_method_known')),
    sa.CheckConstraint('amount_idr > 0', name=op.f('ck_sale_payments_amount_positive')),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_sale_payments_sale_id_sales')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_payments'))
    )
    with op.batch_alter_table('sale_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_payments_sale_id'), ['sale_id'], unique=False)

    op.create_table('refund_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('refund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sale_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_refund_items_qty_positive')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_refund_items_product_id_products')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_items_refund_id_refunds')),
    sa.ForeignKeyConstraint(['sale_item_id'], ['sale_items.id'], name=op.f('fk_refund_items_sale_item_id_sale_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_items'))
    )
    with op.batch_alter_table('refund_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_items_refund_id'), ['refund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_items_sale_item_id'), ['sale_item_id'], unique=False)

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('receipt_header', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('receipt_footer', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('tax_name', sa.String(length=16), server_default='PPN', nullable=False))
        batch_op.add_column(sa.Column('tax_rate_bp', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('tax_inclusive', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('service_charge_bp', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cashier_discount_limit_bp', sa.Integer(), server_default='1000', nullable=False))
        batch_op.create_check_constraint(op.f('ck_stores_tax_rate_range'), 'tax_rate_bp BETWEEN 0 AND 10000')
        batch_op.create_check_constraint(op.f('ck_stores_service_charge_range'), 'service_charge_bp BETWEEN 0 AND 10000')
        batch_op.create_check_constraint(
            op.f('ck_stores_discount_limit_range'), 'cashier_discount_limit_bp BETWEEN 0 AND 10000'
        )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=255), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stores_discount_limit_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_stores_service_charge_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_stores_tax_rate_range'), type_='check')
        batch_op.drop_column('cashier_discount_limit_bp')
        batch_op.drop_column('service_charge_bp')
        batch_op.drop_column('tax_inclusive')
        batch_op.drop_column('tax_rate_bp')
        batch_op.drop_column('tax_name')
        batch_op.drop_column('receipt_footer')
        batch_op.drop_column('receipt_header')
        batch_op.drop_column('tax_id')

    with op.batch_alter_table('refund_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_items_sale_item_id'))
        batch_op.drop_index(batch_op.f('ix_refund_items_refund_id'))

    op.drop_table('refund_items')
    with op.batch_alter_table('sale_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_payments_sale_id'))

    op.drop_table('sale_payments')
    with op.batch_alter_table('sale_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_items_sale_id'))
        batch_op.drop_index('ix_sale_items_product')

    op.drop_table('sale_items')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_sale_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_created_at'))

    op.drop_table('refunds')
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_store_created')
        batch_op.drop_index('ix_sales_store_business_date')
        batch_op.drop_index(batch_op.f('ix_sales_customer_id'))
        batch_op.drop_index(batch_op.f('ix_sales_cashier_id'))

    op.drop_table('sales')
    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carts_store_id'))

    op.drop_table('carts')
    op.drop_table('sale_counters')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_expires_at'))

    op.drop_table('idempotency_keys')
    op.drop_table('customers')
