"""What the reports API reads and writes."""

from marshmallow import Schema, fields, validate

from app.fields import INT_ID_MAX
from app.reports.models import ExportReport, ExportStatus

_SALES_DESCRIPTION = {
    "gross_idr": "Before discounts (prices x quantities).",
    "net_idr": "What customers paid: after discounts, with service charge and tax.",
    "refunds_idr": "Refunds made in the period (POS refunds; online refunds and chargebacks).",
}


class RangeQuery(Schema):
    date_from = fields.Date(required=True, metadata={"description": "First day, in the store's time zone."})
    date_to = fields.Date(required=True, metadata={"description": "Last day (at most 366 days after date_from)."})


class SalesReportQuery(RangeQuery):
    group_by = fields.Str(load_default="day", validate=validate.OneOf(["day", "week", "month"]))


class BestSellersQuery(RangeQuery):
    by = fields.Str(load_default="qty", validate=validate.OneOf(["qty", "revenue"]))
    category_id = fields.Int(validate=validate.Range(min=1, max=INT_ID_MAX))
    limit = fields.Int(load_default=20, validate=validate.Range(min=1, max=500))


class SalesFigures(Schema):
    sales_count = fields.Int()
    items_sold = fields.Int()
    gross_idr = fields.Int(metadata={"description": _SALES_DESCRIPTION["gross_idr"]})
    discount_idr = fields.Int()
    service_charge_idr = fields.Int()
    tax_idr = fields.Int()
    net_idr = fields.Int(metadata={"description": _SALES_DESCRIPTION["net_idr"]})
    refunds_idr = fields.Int(metadata={"description": _SALES_DESCRIPTION["refunds_idr"]})
    net_after_refunds_idr = fields.Int()
    average_basket_idr = fields.Int(metadata={"description": "net_idr / sales_count, rounded."})


class ChannelFigures(Schema):
    pos = fields.Nested(SalesFigures)
    online = fields.Nested(SalesFigures)
    all = fields.Nested(SalesFigures)


class PeriodFigures(ChannelFigures):
    period = fields.Str(metadata={"description": "2026-11-26, 2026-W48 or 2026-11."})
    start = fields.Date()
    end = fields.Date()


class TenderFigures(Schema):
    method = fields.Str(metadata={"description": "cash, card, qris, transfer, or online_<Midtrans payment type>."})
    amount_idr = fields.Int(metadata={"description": "Collected, net of change and of refunds paid out."})
    payments_count = fields.Int()


class CashierFigures(Schema):
    cashier_id = fields.Int()
    username = fields.Str(allow_none=True)
    full_name = fields.Str(allow_none=True)
    sales_count = fields.Int()
    net_idr = fields.Int()


class SalesReport(Schema):
    date_from = fields.Date()
    date_to = fields.Date()
    group_by = fields.Str()
    timezone = fields.Str()
    totals = fields.Nested(ChannelFigures)
    periods = fields.List(fields.Nested(PeriodFigures))
    tenders = fields.List(fields.Nested(TenderFigures))
    cashiers = fields.List(fields.Nested(CashierFigures))


class BestSeller(Schema):
    product_id = fields.Int()
    sku = fields.Str()
    name = fields.Str()
    category_id = fields.Int(allow_none=True)
    category_name = fields.Str(allow_none=True)
    qty = fields.Int(metadata={"description": "Units sold less units refunded."})
    revenue_idr = fields.Int(metadata={"description": "The lines' share of totals, less refunds."})


class LastSale(Schema):
    id = fields.Int()
    number = fields.Str()
    status = fields.Str()
    total_idr = fields.Int()
    created_at = fields.DateTime()
    cashier = fields.Str()


class ComparisonDay(Schema):
    date = fields.Date()
    until = fields.DateTime()
    all = fields.Nested(SalesFigures)


class Dashboard(Schema):
    date = fields.Date()
    today = fields.Nested(ChannelFigures)
    same_weekday_last_week = fields.Nested(ComparisonDay, metadata={"description": "Up to the same time of day."})
    net_change_percent = fields.Float(allow_none=True)
    open_orders = fields.Dict(keys=fields.Str(), values=fields.Int())
    low_stock_count = fields.Int()
    last_sales = fields.List(fields.Nested(LastSale))


class ExportIn(Schema):
    report = fields.Str(required=True, validate=validate.OneOf(list(ExportReport)))
    format = fields.Str(required=True, validate=validate.OneOf(["csv", "xlsx"]))
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)


class ExportOut(Schema):
    id = fields.Int()
    report = fields.Str()
    format = fields.Str()
    date_from = fields.Date()
    date_to = fields.Date()
    status = fields.Str(metadata={"enum": list(ExportStatus)})
    row_count = fields.Int(allow_none=True)
    size_bytes = fields.Int(allow_none=True)
    error = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
