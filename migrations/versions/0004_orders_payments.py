"""Online orders (reserving stock), Midtrans payment attempts, raw notification logs, payment events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('midtrans_order_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_status', sa.String(length=32), nullable=True),
    sa.Column('signature_valid', sa.Boolean(), nullable=True),
    sa.Column('processing_status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=500), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.CheckConstraint("processing_status IN ('received', 'processed', 'ignored', 'failed', 'rejected', 'invalid')", name=op.f('ck_webhook_logs_processing_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_logs'))
    )
    with op.batch_alter_table('webhook_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_logs_midtrans_order_id'), ['midtrans_order_id'], unique=False)
        batch_op.create_index('ix_webhook_logs_status_received', ['processing_status', 'received_at'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_status', sa.String(length=20), nullable=False),
    sa.Column('customer_name', sa.String(length=120), nullable=False),
    sa.Column('customer_phone', sa.String(length=20), nullable=False),
    sa.Column('customer_email', sa.String(length=254), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('subtotal_idr', sa.BigInteger(), nullable=False),
    sa.Column('service_charge_idr', sa.BigInteger(), nullable=False),
    sa.Column('tax_idr', sa.BigInteger(), nullable=False),
    sa.Column('tax_name', sa.String(length=16), nullable=True),
    sa.Column('tax_inclusive', sa.Boolean(), nullable=False),
    sa.Column('total_idr', sa.BigInteger(), nullable=False),
    sa.Column('refunded_idr', sa.BigInteger(), nullable=False),
    sa.Column('stock_reserved', sa.Boolean(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("payment_status IN ('none', 'creating', 'pending', 'paid', 'challenge', 'failed', 'expired', 'cancelled', 'refunded', 'partially_refunded')", name=op.f('ck_orders_payment_status_known')),
    sa.CheckConstraint("status IN ('pending', 'paid', 'preparing', 'ready', 'completed', 'expired', 'cancelled', 'failed')", name=op.f('ck_orders_status_known')),
    sa.CheckConstraint('refunded_idr >= 0 AND refunded_idr <= total_idr', name=op.f('ck_orders_refund_within_total')),
    sa.CheckConstraint('total_idr > 0 AND subtotal_idr >= 0', name=op.f('ck_orders_amounts_valid')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_orders_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_customer_phone'), ['customer_phone'], unique=False)
        batch_op.create_index('ix_orders_store_created', ['store_id', 'created_at'], unique=False)
        batch_op.create_index('ix_orders_store_status_expires', ['store_id', 'status', 'expires_at'], unique=False)

    op.create_table('order_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('unit_price_idr', sa.BigInteger(), nullable=False),
    sa.Column('line_total_idr', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_order_items_qty_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_items_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_items_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_items_product_id'), ['product_id'], unique=False)

    op.create_table('payment_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('attempt_no', sa.Integer(), nullable=False),
    sa.Column('midtrans_order_id', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=False),
    sa.Column('snap_token', sa.String(length=100), nullable=True),
    sa.Column('redirect_url', sa.String(length=500), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failure_reason', sa.String(length=500), nullable=True),
    sa.Column('transaction_status', sa.String(length=32), nullable=True),
    sa.Column('fraud_status', sa.String(length=16), nullable=True),
    sa.Column('payment_type', sa.String(length=32), nullable=True),
    sa.Column('midtrans_transaction_id', sa.String(length=64), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_idr', sa.BigInteger(), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("status IN ('creating', 'pending', 'paid', 'challenge', 'failed', 'expired', 'cancelled', 'refunded', 'partially_refunded')", name=op.f('ck_payment_attempts_status_known')),
    sa.CheckConstraint('amount_idr > 0', name=op.f('ck_payment_attempts_amount_positive')),
    sa.CheckConstraint('refunded_idr >= 0 AND refunded_idr <= amount_idr', name=op.f('ck_payment_attempts_refund_within_amount')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payment_attempts_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_attempts')),
    sa.UniqueConstraint('midtrans_order_id', name=op.f('uq_payment_attempts_midtrans_order_id'))
    )
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_payment_attempts_status_updated', ['status', 'updated_at'], unique=False)
        batch_op.create_index('uq_payment_attempts_order_attempt', ['order_id', 'attempt_no'], unique=True)

    op.create_table('payment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('amount_idr', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['payment_attempts.id'], name=op.f('fk_payment_events_attempt_id_payment_attempts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events'))
    )
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_events_attempt_id'), ['attempt_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_events_attempt_id'))

    op.drop_table('payment_events')
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_attempts_order_attempt')
        batch_op.drop_index('ix_payment_attempts_status_updated')

    op.drop_table('payment_attempts')
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_items_product_id'))
        batch_op.drop_index(batch_op.f('ix_order_items_order_id'))

    op.drop_table('order_items')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_status_expires')
        batch_op.drop_index('ix_orders_store_created')
        batch_op.drop_index(batch_op.f('ix_orders_customer_phone'))
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))

    op.drop_table('orders')
    with op.batch_alter_table('webhook_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_logs_status_received')
        batch_op.drop_index(batch_op.f('ix_webhook_logs_midtrans_order_id'))

    op.drop_table('webhook_logs')
