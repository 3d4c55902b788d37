"""What the store settings API reads and writes. Rates are percents here, basis points in the database."""

from marshmallow import Schema, fields, post_dump, post_load, validate

from app.fields import Flag, PatchSchema, Percent, Trimmed
from app.sales.pricing import percent_to_bp

_PERCENT_FIELDS = {
    "tax_rate_percent": "tax_rate_bp",
    "service_charge_percent": "service_charge_bp",
    "cashier_discount_limit_percent": "cashier_discount_limit_bp",
}


class StoreOut(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    address = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    tax_id = fields.Str(allow_none=True, metadata={"description": "NPWP, printed on receipts."})
    receipt_header = fields.Str(allow_none=True)
    receipt_footer = fields.Str(allow_none=True)
    tax_name = fields.Str(metadata={"description": "PPN, or PB1 for restaurants."})
    tax_rate_percent = fields.Float()
    tax_inclusive = fields.Bool(metadata={"description": "Prices already include the tax."})
    service_charge_percent = fields.Float()
    cashier_discount_limit_percent = fields.Float(
        metadata={"description": "Discounts above this share of a sale need a supervisor's PIN."}
    )

    @post_dump(pass_original=True)
    def _percents(self, data, store, **kwargs):
        for percent, bp in _PERCENT_FIELDS.items():
            data[percent] = getattr(store, bp) / 100
        return data


class StoreUpdate(PatchSchema):
    name = Trimmed(validate=validate.Length(max=120))
    address = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))
    phone = Trimmed(allow_none=True, allow_blank=True, validate=validate.Length(max=32))
    tax_id = Trimmed(allow_none=True, allow_blank=True, validate=validate.Length(max=32))
    receipt_header = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))
    receipt_footer = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))
    tax_name = Trimmed(validate=validate.Length(max=16))
    tax_rate_percent = Percent()
    tax_inclusive = Flag()
    service_charge_percent = Percent()
    cashier_discount_limit_percent = Percent()

    @post_load
    def _basis_points(self, data, **kwargs):
        for percent, bp in _PERCENT_FIELDS.items():
            if percent in data:
                data[bp] = percent_to_bp(data.pop(percent))
        return data
