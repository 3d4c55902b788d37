"""What the stock API reads and writes."""

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from app.fields import INT_ID_MAX, Quantity, Trimmed
from app.inventory.models import MANUAL_REASONS, Reason, StockTakeStatus

MAX_STOCK_TAKE_LINES = 20_000


class MovementUser(Schema):
    id = fields.Int()
    username = fields.Str()


class MovementOut(Schema):
    id = fields.Int()
    product_id = fields.Int()
    store_id = fields.Int()
    delta = fields.Int()
    balance_after = fields.Int()
    reason = fields.Str(metadata={"enum": list(Reason)})
    reference = fields.Str(allow_none=True, metadata={"description": "What caused it, as `kind:id`."})
    note = fields.Str(allow_none=True)
    user = fields.Nested(MovementUser, allow_none=True)
    created_at = fields.DateTime()


class AdjustmentIn(Schema):
    delta = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=-1_000_000, max=1_000_000),
        metadata={"description": "Units added (positive) or removed (negative); not zero.", "not": {"enum": [0]}},
    )
    reason = fields.Str(
        load_default=Reason.ADJUSTMENT,
        validate=validate.OneOf(list(MANUAL_REASONS)),
        metadata={"description": "`purchase` for goods received, `adjustment` for corrections, damage, loss."},
    )
    note = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))

    @validates("delta")
    def _not_zero(self, value, **kwargs):
        if value == 0:
            raise ValidationError("Must not be zero.")


class MovementQuery(Schema):
    reason = fields.Str(validate=validate.OneOf(list(Reason)))


class CountLine(Schema):
    product_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=INT_ID_MAX))
    counted = Quantity(required=True)


class StockTakeIn(Schema):
    counts = fields.List(
        fields.Nested(CountLine),
        required=True,
        validate=validate.Length(min=1, max=MAX_STOCK_TAKE_LINES),
    )
    note = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=255))

    # A schema validator, so it runs only once every line passed its own checks:
    # a field validator would also see lines that lost their product_id to an error.
    @validates_schema
    def _one_line_per_product(self, data, **kwargs):
        seen: set[int] = set()
        repeated: set[int] = set()
        for line in data["counts"]:
            (repeated if line["product_id"] in seen else seen).add(line["product_id"])
        if repeated:
            raise ValidationError(f"Each product may be counted once; repeated: {sorted(repeated)[:20]}.", "counts")


class StockTakeLineOut(Schema):
    product_id = fields.Int()
    counted = fields.Int()
    expected = fields.Int(allow_none=True, metadata={"description": "Units the system held when applied."})
    difference = fields.Int(allow_none=True, metadata={"description": "counted - expected, applied as a movement."})


class StockTakeOut(Schema):
    id = fields.Int()
    status = fields.Str(metadata={"enum": list(StockTakeStatus)})
    note = fields.Str(allow_none=True)
    line_count = fields.Int()
    error = fields.Str(allow_none=True)
    created_by_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    applied_at = fields.DateTime(allow_none=True)


class StockTakeDetail(StockTakeOut):
    lines = fields.List(fields.Nested(StockTakeLineOut))
    changed_lines = fields.Function(lambda take: sum(1 for line in take.lines if line.difference))
