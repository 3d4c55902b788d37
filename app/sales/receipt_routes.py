"""The struk of a sale, as text for thermal printers, a printable page, or a PDF."""

from zoneinfo import ZoneInfo

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from app.auth.policy import STAFF, allow
from app.http import Blueprint
from app.sales import receipt_prints, receipts
from app.stores.services import current_store_id, store_settings

blp = Blueprint("receipts", __name__, url_prefix="/api/sales", description="Receipts (struk) of counter sales.")

_MEDIA_TYPES = {"text": "text/plain", "html": "text/html", "pdf": "application/pdf"}


class ReceiptQuery(Schema):
    format = fields.Str(load_default="text", validate=validate.OneOf(receipts.FORMATS))
    width = fields.Int(
        load_default=80,
        validate=validate.OneOf(sorted(receipts.COLUMNS)),
        metadata={"description": "Paper width in mm: 58 (32 characters a line) or 80 (48)."},
    )


_RENDERERS = {"text": receipts.render_text, "html": receipts.render_html, "pdf": receipts.render_pdf}


@blp.route("/<bigid:sale_id>/receipt")
class SaleReceipt(MethodView):
    @allow(*STAFF)
    @blp.arguments(ReceiptQuery, location="query")
    @blp.response(200, description="The receipt as text/plain, text/html or application/pdf, by `format`.",
                  content_type="text/plain")
    @blp.alt_response(404, description="No such sale.")
    def get(self, query, sale_id):
        """The sale's receipt; every fetch counts as a print, and prints after the first say SALINAN / COPY"""
        sale, is_copy = receipt_prints.count_receipt_print(current_store_id(), sale_id)
        store = store_settings(sale.store_id)
        tz = ZoneInfo(current_app.config["STORE_TIMEZONE"])
        body = _RENDERERS[query["format"]](sale, store, query["width"], is_copy, tz)
        response = Response(body, mimetype=_MEDIA_TYPES[query["format"]])
        if query["format"] == "pdf":
            response.headers["Content-Disposition"] = f'inline; filename="{sale.number}.pdf"'
        # A later fetch of the same URL is a different document (a copy), so nothing may replay this one.
        response.headers["Cache-Control"] = "no-store"
        return response
