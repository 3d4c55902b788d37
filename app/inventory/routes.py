"""Stock adjustments, the ledger, and stock takes."""

from flask.views import MethodView
from flask_jwt_extended import current_user
from marshmallow import Schema, fields, validate

from app.auth.policy import MANAGERS, STAFF, allow
from app.http import Blueprint, max_body
from app.inventory import services, stock_takes
from app.inventory.schemas import (
    AdjustmentIn,
    MovementOut,
    MovementQuery,
    StockTakeDetail,
    StockTakeIn,
    StockTakeOut,
)
from app.pagination import SelectPage
from app.stores.services import current_store_id

stock = Blueprint("stock", __name__, url_prefix="/api/products", description="Stock adjustments and the stock ledger.")
takes = Blueprint("stock_takes", __name__, url_prefix="/api/stock-takes", description="Stock takes (counts).")


@stock.route("/<id:product_id>/stock-adjustments")
class StockAdjustments(MethodView):
    @allow(*MANAGERS)
    @stock.arguments(AdjustmentIn)
    @stock.response(201, MovementOut)
    @stock.alt_response(409, description="The change would take stock below zero; nothing changed.")
    def post(self, body, product_id):
        """Add or remove units (goods received, damage, corrections)"""
        return services.adjust_stock(current_store_id(), product_id, current_user.id, **body)


@stock.route("/<id:product_id>/stock-movements")
class StockMovements(MethodView):
    @allow(*STAFF)
    @stock.arguments(MovementQuery, location="query")
    @stock.response(200, MovementOut(many=True))
    @stock.paginate(SelectPage)
    def get(self, filters, product_id):
        """The product's stock ledger at the store, newest first"""
        services.require_product(product_id)
        return services.movements_query(current_store_id(), product_id, **filters)


class StockTakeQuery(Schema):
    status = fields.Str(validate=validate.OneOf(["pending", "applied", "failed"]))


@takes.route("")
class StockTakes(MethodView):
    @allow(*MANAGERS)
    @max_body(4 * 1024 * 1024)
    @takes.arguments(StockTakeIn)
    @takes.response(202, StockTakeOut)
    def post(self, body):
        """Record counted quantities; a worker applies the differences"""
        return stock_takes.create_stock_take(current_store_id(), current_user.id, body["counts"], body.get("note"))

    @allow(*MANAGERS)
    @takes.arguments(StockTakeQuery, location="query")
    @takes.response(200, StockTakeOut(many=True))
    @takes.paginate(SelectPage)
    def get(self, filters):
        """List stock takes, newest first"""
        return stock_takes.stock_takes_query(**filters)


@takes.route("/<id:stock_take_id>")
class StockTakeById(MethodView):
    @allow(*MANAGERS)
    @takes.response(200, StockTakeDetail)
    def get(self, stock_take_id):
        """Status of a stock take and, once applied, each product's difference"""
        return stock_takes.get_stock_take(stock_take_id)
