"""The public menu and online orders; the staff's order screen."""

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_smorest.exceptions import NotModified

from app.auth.policy import STAFF, allow, public
from app.extensions import client_address, limiter
from app.http import Blueprint, max_body
from app.idempotency import idempotent
from app.orders import models, services
from app.orders.schemas import (
    MenuOut,
    OrderDetail,
    OrderIn,
    OrderOut,
    OrderQuery,
    OrderStatusOut,
    OrderUpdate,
    StaffOrderOut,
)
from app.pagination import SelectPage
from app.payments import services as payments
from app.stores.services import current_store_id

menu = Blueprint("menu", __name__, url_prefix="/api/menu", description="The public menu.")
orders = Blueprint("orders", __name__, url_prefix="/api/orders", description="Online orders.")

MENU_MAX_AGE_SECONDS = 15
_MENU_CACHING = {"Cache-Control": f"public, max-age={MENU_MAX_AGE_SECONDS}"}


def public_rate_limit():
    return current_app.config["PUBLIC_RATE_LIMIT"]


@menu.route("")
class Menu(MethodView):
    @public
    # The ETag is flask-smorest's, computed from the body MenuOut dumps: it changes when the menu does.
    @menu.etag
    @menu.response(200, MenuOut, headers={"Cache-Control": {"description": "Public, for a few seconds.",
                                                             "schema": {"type": "string"}}})
    def get(self):
        """Active products by category, with price and how many can be ordered now (cacheable briefly)"""
        return services.menu(current_store_id()), _MENU_CACHING


@menu.errorhandler(NotModified)
def menu_not_modified(error):
    """A 304 carries the validator and caching a 200 would have (RFC 9110, 15.4.5).

    flask-smorest raises NotModified when the computed ETag is among the
    If-None-Match tags, leaving the response and its headers behind; that
    tag is the one the client sent (a cache sends the one it holds).
    """
    response = current_app.response_class(status=304, headers=_MENU_CACHING)
    tags = request.if_none_match.as_set()
    if len(tags) == 1 and not request.if_none_match.star_tag:
        response.set_etag(next(iter(tags)))
    return response


def _replay_order(order_id):
    return services.order_body(order_id)


@orders.route("")
class Orders(MethodView):
    @public
    @limiter.limit(public_rate_limit, key_func=client_address)
    @max_body(16 * 1024)
    @idempotent("orders.create", replay=_replay_order, scope_by_user=False)
    @orders.arguments(OrderIn)
    @orders.response(201, OrderOut)
    @orders.alt_response(409, description="Not enough stock (errors.stock names each product), or more than "
                         "unpaid online orders may hold (errors.json.items.<line>.qty says how many can be ordered).")
    @orders.alt_response(422, description="Invalid input, a product not on the menu, or over the per-product cap.")
    @orders.alt_response(429, description="Too many requests from this address, or too many unpaid orders from "
                         "this address or phone number.")
    def post(self, data, claim):
        """Place an order from the menu; its stock is reserved until it is paid or expires

        The id returned is an unguessable UUID: it is what lets the customer
        pay (`POST /api/payments/{id}/create`) and follow the order. The stock
        is held for a short while (`expires_at`) until a payment is started,
        which extends it. Unpaid orders may hold only part of each product's
        stock (the rest stays with the counter), one client address only a
        smaller part, and an address or phone number only a few unpaid orders.
        """
        return services.place_order(current_store_id(), data, client_address(), claim)

    @allow(*STAFF)
    @orders.arguments(OrderQuery, location="query")
    @orders.response(200, StaffOrderOut(many=True))
    @orders.paginate(SelectPage)
    def get(self, filters):
        """Online orders, newest first, by status, payment status, customer, date"""
        return services.orders_query(current_store_id(), **filters)


@orders.route("/<uuid:order_id>")
class OrderById(MethodView):
    @allow(*STAFF)
    @orders.response(200, OrderDetail)
    def get(self, order_id):
        """One order with its payment attempts, Midtrans notifications and money events"""
        return payments.order_detail(order_id)

    @allow(*STAFF)
    @orders.arguments(OrderUpdate)
    @orders.response(200, StaffOrderOut)
    @orders.alt_response(409, description="Not the next step for this order, or it cannot be cancelled.")
    @orders.alt_response(403, description="A cashier cancelling a paid order (refunds are for admins and supervisors).")
    def patch(self, body, order_id):
        """Move the order on (paid -> preparing -> ready -> completed) or cancel it

        Any staff may move an order on or cancel an unpaid one; cancelling a
        paid order refunds it and needs an admin or a supervisor.
        """
        if body["status"] == models.OrderStatus.CANCELLED:
            return payments.cancel_order(order_id, current_user, body.get("reason"), body["refund_manually"])
        return services.advance(order_id, body["status"])


@orders.route("/<uuid:order_id>/status")
class OrderStatus(MethodView):
    @public
    @limiter.limit(public_rate_limit, key_func=client_address)
    @orders.response(200, OrderStatusOut)
    def get(self, order_id):
        """The order's status for the customer's page"""
        return services.find_order(order_id)
