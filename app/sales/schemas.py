"""What the sales API reads and writes."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.fields import BIGINT_ID_MAX, INT_ID_MAX, MAX_IDR, Flag, Percent, Rupiah, Text, Trimmed
from app.sales.statuses import SaleStatus, Tender


def IntId(**kwargs):  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=INT_ID_MAX), **kwargs)


class DiscountMixin(Schema):
    openapi_extra = {"not": {"required": ["discount_idr", "discount_percent"]}}  # see _one_kind_of_discount
    discount_idr = Rupiah(metadata={"description": "Discount as an amount."})
    discount_percent = Percent(metadata={"description": "Discount as a percent (two decimals at most)."})

    @validates_schema
    def _one_kind_of_discount(self, data, **kwargs):
        if data.get("discount_idr") is not None and data.get("discount_percent") is not None:
            raise ValidationError("Give the discount as an amount or a percent, not both.", "discount_percent")


class ApprovalIn(Schema):
    username = Trimmed(required=True, validate=validate.Length(max=64))
    pin = fields.Str(required=True, load_only=True, validate=validate.Regexp(r"^\d{4,8}$", error="4 to 8 digits."))


class CheckoutItemIn(DiscountMixin):
    product_id = IntId(required=True)
    qty = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))


class PaymentIn(Schema):
    method = fields.Str(required=True, validate=validate.OneOf(list(Tender)))
    amount_idr = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_IDR))
    reference = Trimmed(allow_none=True, validate=validate.Length(max=64))


class CheckoutIn(DiscountMixin):
    items = fields.List(fields.Nested(CheckoutItemIn), required=True, validate=validate.Length(min=1, max=200))
    payments = fields.List(fields.Nested(PaymentIn), required=True, validate=validate.Length(max=10))
    customer_id = IntId(allow_none=True)
    note = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))
    approval = fields.Nested(ApprovalIn, metadata={"description": "A supervisor's PIN, for a cashier's discount above the store's limit."})
    cart_id = IntId(metadata={"description": "The parked cart being checked out; it is removed with the sale. "
                              "Only the cart this user resumed last (or parked, if not resumed since); "
                              "any other is 409 and nothing is sold."})


class PersonOut(Schema):
    id = fields.Int()
    username = fields.Str()
    full_name = fields.Str()


class CustomerBrief(Schema):
    id = fields.Int()
    name = fields.Str()
    phone = fields.Str(allow_none=True)


class SaleItemOut(Schema):
    id = fields.Int()
    product_id = fields.Int()
    sku = fields.Str()
    name = fields.Str()
    qty = fields.Int()
    unit_price_idr = fields.Int()
    line_discount_idr = fields.Int()
    sale_discount_share_idr = fields.Int()
    total_share_idr = fields.Int(metadata={"description": "This line's part of the total; what a full refund returns."})
    refunded_qty = fields.Int()
    refunded_idr = fields.Int()


class PaymentOut(Schema):
    method = fields.Str()
    amount_idr = fields.Int()
    reference = fields.Str(allow_none=True)


class SaleOut(Schema):
    id = fields.Int()
    number = fields.Str()
    business_date = fields.Date()
    status = fields.Str(metadata={"enum": list(SaleStatus)})
    cashier = fields.Nested(PersonOut)
    customer = fields.Nested(CustomerBrief, allow_none=True)
    subtotal_idr = fields.Int()
    line_discount_idr = fields.Int()
    sale_discount_idr = fields.Int()
    discount_idr = fields.Int()
    service_charge_idr = fields.Int()
    tax_name = fields.Str(allow_none=True)
    tax_rate_bp = fields.Int(metadata={"description": "Basis points: 1100 = 11 %."})
    tax_inclusive = fields.Bool()
    tax_idr = fields.Int()
    total_idr = fields.Int()
    paid_idr = fields.Int()
    change_idr = fields.Int()
    refunded_idr = fields.Int()
    note = fields.Str(allow_none=True)
    items = fields.List(fields.Nested(SaleItemOut))
    payments = fields.List(fields.Nested(PaymentOut))
    created_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.Str(allow_none=True)


class SaleQuery(Schema):
    date_from = fields.Date(metadata={"description": "First business day (store's local date)."})
    date_to = fields.Date()
    cashier_id = fields.Int(validate=validate.Range(min=1, max=INT_ID_MAX))
    customer_id = fields.Int(validate=validate.Range(min=1, max=INT_ID_MAX))
    status = fields.Str(validate=validate.OneOf(list(SaleStatus)))
    method = fields.Str(validate=validate.OneOf(list(Tender)), metadata={"description": "Sales paid (partly) with this tender."})
    number = Text(validate=validate.Length(max=32))

    @validates_schema
    def _range_in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("date_from must not be after date_to.", "date_from")


class VoidIn(Schema):
    reason = Trimmed(required=True, validate=validate.Length(max=255))
    approval = fields.Nested(ApprovalIn)


class RefundLineIn(Schema):
    sale_item_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=BIGINT_ID_MAX))
    qty = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))


class RefundIn(Schema):
    items = fields.List(fields.Nested(RefundLineIn), required=True, validate=validate.Length(min=1, max=200))
    reason = Trimmed(required=True, validate=validate.Length(max=255))
    method = fields.Str(load_default=Tender.CASH, validate=validate.OneOf(list(Tender)),
                        metadata={"description": "How the money goes back."})
    restock = Flag(load_default=True, metadata={"description": "Return the units to stock (false for damaged goods)."})
    approval = fields.Nested(ApprovalIn)


class RefundItemOut(Schema):
    sale_item_id = fields.Int()
    product_id = fields.Int()
    qty = fields.Int()
    amount_idr = fields.Int()


class RefundOut(Schema):
    id = fields.Int()
    sale_id = fields.Int()
    amount_idr = fields.Int()
    method = fields.Str()
    reason = fields.Str()
    restocked = fields.Bool()
    user_id = fields.Int()
    approved_by_id = fields.Int(allow_none=True)
    items = fields.List(fields.Nested(RefundItemOut))
    created_at = fields.DateTime()
