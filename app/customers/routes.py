"""Customers and their purchase history."""

from flask.views import MethodView

from app.auth.policy import MANAGERS, STAFF, allow
from app.customers import services
from app.customers.schemas import CustomerIn, CustomerOut, CustomerQuery, CustomerUpdate, PurchaseOut
from app.http import Blueprint
from app.pagination import RowPage, SelectPage

blp = Blueprint("customers", __name__, url_prefix="/api/customers", description="Customers of the shop.")


@blp.route("")
class Customers(MethodView):
    @allow(*STAFF)
    @blp.arguments(CustomerQuery, location="query")
    @blp.response(200, CustomerOut(many=True))
    @blp.paginate(SelectPage)
    def get(self, filters):
        """List and search customers by name or phone number"""
        return services.customers_query(**filters)

    @allow(*STAFF)
    @blp.arguments(CustomerIn)
    @blp.response(201, CustomerOut)
    @blp.alt_response(409, description="Another customer has this phone number (errors.json.phone).")
    def post(self, data):
        """Add a customer; the phone number is stored as digits with the country code"""
        return services.create_customer(data)


@blp.route("/<id:customer_id>")
class CustomerById(MethodView):
    @allow(*STAFF)
    @blp.response(200, CustomerOut)
    def get(self, customer_id):
        """One customer, with purchase count, total spent and last purchase"""
        return services.get_customer(customer_id)

    @allow(*STAFF)
    @blp.arguments(CustomerUpdate)
    @blp.response(200, CustomerOut)
    @blp.alt_response(409, description="Another customer has this phone number (errors.json.phone).")
    def patch(self, changes, customer_id):
        """Change a customer's name, phone, e-mail or note (null or "" clears phone and e-mail)"""
        return services.update_customer(customer_id, changes)

    @allow(*MANAGERS)
    @blp.response(204)
    @blp.alt_response(409, description="The customer has purchases on record.")
    def delete(self, customer_id):
        """Delete a customer who has no purchases"""
        services.delete_customer(customer_id)


@blp.route("/<id:customer_id>/purchases")
class CustomerPurchases(MethodView):
    @allow(*STAFF)
    @blp.response(200, PurchaseOut(many=True))
    @blp.paginate(RowPage)
    def get(self, customer_id):
        """The customer's purchases at the till and online, newest first"""
        return services.purchases_query(customer_id)
