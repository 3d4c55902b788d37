"""Parked carts: park, list, change, drop, resume."""

from flask.views import MethodView
from flask_jwt_extended import current_user

from app.auth.policy import STAFF, allow
from app.http import Blueprint
from app.pagination import SelectPage
from app.sales import carts
from app.sales.cart_schemas import CartIn, CartOut, ResumedCartOut
from app.stores.services import current_store_id

blp = Blueprint(
    "carts", __name__, url_prefix="/api/carts",
    description="Parked carts: hold a customer's cart so the queue can move, resume it on any till. "
                "Check one out with `POST /api/sales` and `cart_id`; that removes it.",
)


@blp.route("")
class Carts(MethodView):
    @allow(*STAFF)
    @blp.response(200, CartOut(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """The store's parked carts, oldest first"""
        return carts.carts_query(current_store_id())

    @allow(*STAFF)
    @blp.arguments(CartIn)
    @blp.response(201, CartOut)
    @blp.alt_response(422, description="Invalid items (unknown or inactive products, discounts over the line) or an unknown customer.")
    def post(self, data):
        """Park a cart (a checkout body without payments, plus a label); reserves no stock"""
        return carts.park_cart(current_store_id(), current_user.id, data)


@blp.route("/<id:cart_id>")
class CartById(MethodView):
    @allow(*STAFF)
    @blp.response(200, CartOut)
    def get(self, cart_id):
        """One parked cart"""
        return carts.get_cart(current_store_id(), cart_id)

    @allow(*STAFF)
    @blp.arguments(CartIn)
    @blp.response(200, CartOut)
    def put(self, data, cart_id):
        """Replace a parked cart's label and content"""
        return carts.replace_cart(current_store_id(), cart_id, data)

    @allow(*STAFF)
    @blp.response(204)
    def delete(self, cart_id):
        """Drop a parked cart (the customer left)"""
        carts.delete_cart(current_store_id(), cart_id)


@blp.route("/<id:cart_id>/resume")
class CartResume(MethodView):
    @allow(*STAFF)
    @blp.response(200, ResumedCartOut)
    def post(self, cart_id):
        """Resume a parked cart on this till: its lines with today's name, price and stock

        Records who resumed it and when. The cart stays parked until it is
        checked out (`POST /api/sales` with `cart_id`) or deleted.
        """
        return carts.resume_cart(current_store_id(), cart_id, current_user.id)
