"""What makes the OpenAPI document exact and usable by generated clients, in one place.

- Ids in paths: `<id:...>` and `<bigid:...>` match 1 to the largest value of
  the key column (PostgreSQL INTEGER, BIGINT). A larger number names no row,
  so the route does not match and the answer is 404, without a query; the
  document states the range.
- `operationId`: one rule for every operation, from the view's class and the
  method (`listProducts`, `createSale`, `getCustomer`, `updateProduct`), and
  a readable name for the actions the rule cannot name (`login`, `voidSale`).
- PATCH bodies (`PatchSchema`) declare `minProperties: 1`, as they refuse `{}`; a
  schema's `openapi_extra` (a dict) adds the rules between fields it checks itself.
- Examples of the main request bodies, with the data of a small café.
"""

from apispec import BasePlugin
from werkzeug.routing import IntegerConverter

from app.fields import BIGINT_ID_MAX, INT_ID_MAX, PatchSchema


class IdConverter(IntegerConverter):
    """A row id of an INTEGER key column."""

    def __init__(self, map):  # noqa: A002 - werkzeug's argument name
        super().__init__(map, min=1, max=INT_ID_MAX)


class BigIdConverter(IntegerConverter):
    """A row id of a BIGINT key column (sales and their lines)."""

    def __init__(self, map):  # noqa: A002
        super().__init__(map, min=1, max=BIGINT_ID_MAX)


URL_CONVERTERS = {"id": IdConverter, "bigid": BigIdConverter}


def id_parameter_schema(converter):
    return {"type": "integer", "minimum": converter.min, "maximum": converter.max}


_VERBS = {"post": "create", "put": "replace", "patch": "update", "delete": "delete"}

# Operations the rule would name badly: actions rather than resources. Keyed by endpoint and method.
_ACTION_NAMES = {
    ("auth.Login", "post"): "login",
    ("auth.Refresh", "post"): "refreshToken",
    ("auth.Logout", "post"): "logout",
    ("auth.Me", "get"): "getCurrentUser",
    ("auth.OwnPassword", "post"): "changeOwnPassword",
    ("auth.ApprovalPin", "put"): "setApprovalPin",
    ("users.UserPassword", "post"): "resetUserPassword",
    ("products.LowStock", "get"): "listLowStockProducts",
    ("sales.SaleVoid", "post"): "voidSale",
    ("carts.CartResume", "post"): "resumeCart",
    ("menu.Menu", "get"): "getMenu",
    ("payments.PaymentCreate", "post"): "createPayment",
    ("webhooks.MidtransNotification", "post"): "receiveMidtransNotification",
    ("reports.ExportDownload", "get"): "downloadExport",
}


def operation_id(endpoint, method, operation):
    """`listProducts`, `createProduct`, `getProduct`, `updateProduct`, `deleteProduct` from `products.ProductById`."""
    if (endpoint, method) in _ACTION_NAMES:
        return _ACTION_NAMES[endpoint, method]
    noun = endpoint.rsplit(".", 1)[-1].removesuffix("ById").removesuffix("View")
    if method == "get":
        return ("list" if _returns_a_list(operation) else "get") + noun
    if method == "post":
        noun = noun[:-3] + "y" if noun.endswith("ies") else noun.removesuffix("s")
    return _VERBS[method] + noun


def _returns_a_list(operation):
    responses = operation.get("responses", {})
    content = (responses.get(200) or responses.get("200") or {}).get("content", {})
    return any(media.get("schema", {}).get("type") == "array" for media in content.values())


_CAFE_ORDER = [{"product_id": 1, "qty": 2}, {"product_id": 2, "qty": 1}]

# Request examples keyed by operationId: what the main calls look like at a small café.
REQUEST_EXAMPLES = {
    "login": {"username": "kasir.sari", "password": "kopi-susu-gula-aren"},
    "createSale": {
        "items": [{"product_id": 1, "qty": 2}, {"product_id": 2, "qty": 1, "discount_idr": 2_000}],
        "customer_id": 1,
        "payments": [{"method": "cash", "amount_idr": 100_000}],
        "note": "Es kopi susu kurang manis",
    },
    "createOrder": {
        "customer": {"name": "Budi Santoso", "phone": "0812-3456-7890", "email": "budi@example.co.id"},
        "items": _CAFE_ORDER,
        "note": "Ambil jam 12.30",
    },
    "createProduct": {
        "sku": "KOPI-SUSU-GA", "barcode": "8991234567890", "name": "Es Kopi Susu Gula Aren", "category_id": 1,
        "price_idr": 28_000, "cost_idr": 9_500, "low_stock_threshold": 10, "initial_stock": 40,
    },
    "createStockAdjustment": {"delta": 24, "reason": "purchase", "note": "Kiriman susu UHT dari supplier"},
    "createCart": {"label": "Meja 4", "items": _CAFE_ORDER, "note": "Tunggu teman"},
}


class PosSpecPlugin(BasePlugin):
    """apispec plugin; runs after the marshmallow plugin, so schemas are already resolved."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        if not isinstance(schema_class, type):
            return None
        extra = dict(getattr(schema_class, "openapi_extra", {}))
        if issubclass(schema_class, PatchSchema):
            extra["minProperties"] = 1
        return extra

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None:
            return
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            operation.setdefault("operationId", operation_id(rule.endpoint, method, operation))
            example = REQUEST_EXAMPLES.get(operation["operationId"])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if example is not None and body is not None:
                body.setdefault("example", example)
