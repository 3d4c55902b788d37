"""What the parked-carts API reads and writes.

A cart's content is a checkout body without the tenders: the same items,
discounts, customer and note that `POST /api/sales` takes, so resuming a cart
is sending its content back with `payments` (and `cart_id`).
"""

from marshmallow import Schema, fields, pre_dump, validate

from app.fields import Trimmed
from app.sales.schemas import CheckoutIn, CustomerBrief

CONTENT_FIELDS = ("items", "customer_id", "discount_idr", "discount_percent", "note")


class CartIn(CheckoutIn):
    label = Trimmed(required=True, validate=validate.Length(max=80),
                    metadata={"description": "What the cashier calls it: a name, a table, 'Ibu baju merah'."})

    class Meta:
        # Tenders are given at checkout; a supervisor's PIN is never stored.
        exclude = ("payments", "approval", "cart_id")


class CartItemOut(Schema):
    product_id = fields.Int()
    qty = fields.Int()
    discount_idr = fields.Int(allow_none=True)
    discount_percent = fields.Float(allow_none=True)

    @pre_dump
    def _every_field(self, line, **kwargs):
        """Discounts not given are shown as null, so every line has the same shape."""
        return {name: line.get(name) for name in self.dump_fields}


class CartOut(Schema):
    id = fields.Int()
    label = fields.Str()
    items = fields.List(fields.Nested(CartItemOut))
    customer_id = fields.Int(allow_none=True)
    discount_idr = fields.Int(allow_none=True)
    discount_percent = fields.Float(allow_none=True)
    note = fields.Str(allow_none=True)
    created_by_id = fields.Int()
    resumed_by_id = fields.Int(allow_none=True)
    resumed_at = fields.DateTime(allow_none=True, metadata={"description": "Last time a till resumed it."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    @pre_dump
    def _flatten_content(self, cart, **kwargs):
        """The stored checkout body's fields side by side with the cart's own."""
        view = {name: getattr(cart, name) for name in (
            "id", "label", "created_by_id", "resumed_by_id", "resumed_at", "created_at", "updated_at")}
        view.update({name: cart.content.get(name) for name in CONTENT_FIELDS})
        return view


class ResumedItemOut(CartItemOut):
    name = fields.Str(allow_none=True, metadata={"description": "Null when the product no longer exists."})
    price_idr = fields.Int(allow_none=True, metadata={"description": "Today's price; checkout prices again."})
    stock = fields.Int(allow_none=True, metadata={"description": "Units at the store now."})
    is_active = fields.Bool(metadata={"description": "False when the product is no longer sold (checkout would refuse it)."})


class ResumedCartOut(CartOut):
    items = fields.List(fields.Nested(ResumedItemOut))
    customer = fields.Nested(CustomerBrief, allow_none=True)

    @pre_dump
    def _flatten_content(self, resumed, **kwargs):
        view = super()._flatten_content(resumed.cart)
        view["items"] = resumed.items
        view["customer"] = resumed.customer
        return view
