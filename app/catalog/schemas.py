"""What the catalog API reads and writes."""

from flask_jwt_extended import current_user
from marshmallow import Schema, ValidationError, fields, post_dump, pre_load, validate

from app.auth.policy import MANAGERS
from app.catalog.models import ImportStatus
from app.fields import INT_ID_MAX, Flag, PatchSchema, Quantity, Rupiah, Text, Trimmed

SKU = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$", error="1 to 64 letters, digits, '.', '_', '/' or '-'.")
BARCODE = validate.Regexp(r"^[A-Za-z0-9-]{1,64}$", error="1 to 64 letters, digits or '-'.")


class CategoryIn(Schema):
    name = Trimmed(required=True, validate=validate.Length(max=80))
    description = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))
    sort_order = Quantity(maximum=10_000)


class CategoryUpdate(CategoryIn, PatchSchema):
    name = Trimmed(validate=validate.Length(max=80))


class CategoryOut(Schema):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str(allow_none=True)
    sort_order = fields.Int()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CategoryQuery(Schema):
    q = Text(validate=validate.Length(max=80))


class ProductFields(Schema):
    sku = Trimmed(validate=[validate.Length(max=64), SKU])
    barcode = Trimmed(allow_none=True, validate=BARCODE)
    name = Trimmed(validate=validate.Length(max=200))
    description = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=2000))
    category_id = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=INT_ID_MAX))
    price_idr = Rupiah()
    cost_idr = Rupiah(allow_none=True)
    low_stock_threshold = Quantity()
    is_active = Flag()

    @pre_load
    def _stock_is_not_edited_here(self, data, **kwargs):
        if isinstance(data, dict) and "stock" in data:
            raise ValidationError("Stock changes only through stock adjustments and stock takes.", "stock")
        return data


class ProductIn(ProductFields):
    sku = Trimmed(required=True, validate=[validate.Length(max=64), SKU])
    name = Trimmed(required=True, validate=validate.Length(max=200))
    price_idr = Rupiah(required=True)
    initial_stock = Quantity(
        load_default=0, metadata={"description": "Opening stock at the store, written as an `initial` movement."}
    )


class ProductUpdate(ProductFields, PatchSchema):
    pass


class ProductOut(Schema):
    id = fields.Int()
    sku = fields.Str()
    barcode = fields.Str(allow_none=True)
    name = fields.Str()
    description = fields.Str(allow_none=True)
    category_id = fields.Int(allow_none=True)
    category_name = fields.Function(lambda product: product.category.name if product.category else None)
    price_idr = fields.Int()
    cost_idr = fields.Int(allow_none=True, metadata={"description": "Only shown to admins and supervisors."})
    stock = fields.Int(metadata={"description": "Units at the store."})
    low_stock_threshold = fields.Int()
    is_low_stock = fields.Function(
        lambda product: product.is_active and (product.stock or 0) <= product.low_stock_threshold
    )
    is_active = fields.Bool()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    @post_dump
    def _hide_cost_from_cashiers(self, data, **kwargs):
        if current_user.role not in MANAGERS:
            data.pop("cost_idr", None)
        return data


class ProductQuery(Schema):
    q = Text(validate=validate.Length(max=100), metadata={"description": "Part of the name, SKU or barcode."})
    category_id = fields.Int(validate=validate.Range(min=1, max=INT_ID_MAX))
    is_active = fields.Bool()
    low_stock = fields.Bool(metadata={"description": "Only products at or under their low-stock threshold."})


class ImportOut(Schema):
    id = fields.Int()
    status = fields.Str(metadata={"enum": list(ImportStatus)})
    filename = fields.Str(allow_none=True)
    total_rows = fields.Int()
    created_count = fields.Int()
    updated_count = fields.Int()
    error_count = fields.Int()
    row_errors = fields.List(fields.Dict(), metadata={"description": "Per rejected row: row number, sku, errors."})
    error = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ImportUpload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
