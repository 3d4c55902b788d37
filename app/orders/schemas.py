"""What the online ordering API reads and writes."""

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from app.customers.schemas import Email, Phone
from app.fields import INT_ID_MAX, Flag, Text, Trimmed
from app.orders.models import FULFILMENT, OrderStatus, PaymentStatus
from app.payments.schemas import PaymentEventOut, StaffPaymentAttemptOut, WebhookLogOut

MAX_ORDER_LINES = 30


class OrderCustomerIn(Schema):
    name = Trimmed(required=True, validate=validate.Length(max=120))
    phone = Phone(required=True)
    email = Email(allow_none=True, validate=validate.Length(max=254))


class OrderItemIn(Schema):
    product_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=INT_ID_MAX))
    qty = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))

    @validates("qty")
    def _within_cap(self, value, **kwargs):
        cap = current_app.config["ORDER_MAX_QTY"]
        if value > cap:
            raise ValidationError(f"At most {cap} of one product per order.")


class OrderIn(Schema):
    customer = fields.Nested(OrderCustomerIn, required=True)
    items = fields.List(fields.Nested(OrderItemIn), required=True, validate=validate.Length(min=1, max=MAX_ORDER_LINES))
    note = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=500))

    @validates_schema(skip_on_field_errors=True)
    def _one_line_per_product(self, data, **kwargs):
        # Only once every line has loaded: a line that failed is missing its fields, and its errors
        # (keyed by line index) must not be mixed with a message for the whole list.
        ids = [item["product_id"] for item in data["items"]]
        if len(ids) != len(set(ids)):
            raise ValidationError("List each product once, with its quantity.", "items")


class OrderItemOut(Schema):
    product_id = fields.Int()
    sku = fields.Str()
    name = fields.Str()
    qty = fields.Int()
    unit_price_idr = fields.Int()
    line_total_idr = fields.Int()


class OrderOut(Schema):
    id = fields.UUID()
    status = fields.Str(metadata={"enum": list(OrderStatus)})
    payment_status = fields.Str(metadata={"enum": list(PaymentStatus)})
    subtotal_idr = fields.Int()
    service_charge_idr = fields.Int()
    tax_name = fields.Str(allow_none=True)
    tax_inclusive = fields.Bool()
    tax_idr = fields.Int()
    total_idr = fields.Int()
    expires_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    note = fields.Str(allow_none=True)
    items = fields.List(fields.Nested(OrderItemOut))
    created_at = fields.DateTime()


class OrderStatusOut(Schema):
    id = fields.UUID()
    status = fields.Str()
    payment_status = fields.Str()
    total_idr = fields.Int()
    paid_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime()


class StaffOrderOut(OrderOut):
    customer_name = fields.Str()
    customer_phone = fields.Str()
    customer_email = fields.Str(allow_none=True)
    customer_id = fields.Int(allow_none=True)
    refunded_idr = fields.Int()
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)
    updated_at = fields.DateTime()


class OrderDetail(StaffOrderOut):
    payments = fields.List(fields.Nested(StaffPaymentAttemptOut))
    notifications = fields.List(fields.Nested(WebhookLogOut))
    payment_events = fields.List(fields.Nested(PaymentEventOut))


class OrderQuery(Schema):
    status = fields.Str(validate=validate.OneOf(list(OrderStatus)))
    payment_status = fields.Str(validate=validate.OneOf(list(PaymentStatus)))
    q = Text(validate=validate.Length(max=120), metadata={"description": "Customer name or phone."})
    date_from = fields.Date()
    date_to = fields.Date()


class OrderUpdate(Schema):
    status = fields.Str(
        required=True,
        validate=validate.OneOf([*FULFILMENT.values(), OrderStatus.CANCELLED]),
        metadata={"description": "The next fulfilment step, or cancelled (a paid order is refunded)."},
    )
    reason = Trimmed(validate=validate.Length(max=255), metadata={"description": "Why, when cancelling."})
    refund_manually = Flag(
        load_default=False,
        metadata={"description": "Cancelling a paid order whose method Midtrans cannot refund (bank transfer): "
                  "you refunded the customer yourself."},
    )


class MenuProduct(Schema):
    id = fields.Int()
    sku = fields.Str()
    name = fields.Str()
    description = fields.Str(allow_none=True)
    price_idr = fields.Int()
    available = fields.Int(metadata={"description": "Units that can be ordered online now (unpaid online orders "
                                                     "may hold only part of the stock; the rest is the counter's)."})
    is_available = fields.Bool()


class MenuCategory(Schema):
    id = fields.Int(allow_none=True)
    name = fields.Str()
    products = fields.List(fields.Nested(MenuProduct))


class MenuOut(Schema):
    categories = fields.List(fields.Nested(MenuCategory))
    max_qty_per_product = fields.Int()
