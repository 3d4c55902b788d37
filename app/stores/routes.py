"""The store's settings: what receipts say, tax and service charge."""

from flask.views import MethodView

from app.auth.policy import STAFF, allow
from app.http import Blueprint
from app.stores import services
from app.stores.schemas import StoreOut, StoreUpdate
from app.stores.services import current_store_id
from app.users.models import ADMIN

blp = Blueprint("store", __name__, url_prefix="/api/store", description="Store settings.")


@blp.route("")
class StoreSettings(MethodView):
    @allow(*STAFF)
    @blp.response(200, StoreOut)
    def get(self):
        """The store's settings"""
        return services.store_settings(current_store_id())

    @allow(ADMIN)
    @blp.arguments(StoreUpdate)
    @blp.response(200, StoreOut)
    def patch(self, changes):
        """Change receipt texts, tax (PPN or PB1, inclusive or not) and service charge"""
        return services.update_store_settings(current_store_id(), changes)
