"""Reports, the dashboard and exports, for owners and supervisors."""

from flask import send_file
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.auth.policy import MANAGERS, allow
from app.catalog.schemas import ProductOut
from app.http import Blueprint
from app.pagination import SelectPage
from app.reports import exports, services
from app.reports.schemas import (
    BestSeller,
    BestSellersQuery,
    Dashboard,
    ExportIn,
    ExportOut,
    SalesReport,
    SalesReportQuery,
)
from app.stores.services import current_store_id

reports = Blueprint("reports", __name__, url_prefix="/api/reports", description="Sales reports and exports.")
dashboard = Blueprint("dashboard", __name__, url_prefix="/api/dashboard", description="Today at a glance.")

_MEDIA_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@reports.route("/sales")
class SalesReportView(MethodView):
    @allow(*MANAGERS)
    @reports.arguments(SalesReportQuery, location="query")
    @reports.response(200, SalesReport)
    def get(self, query):
        """Sales per day, week or month: POS and online apart and together, by tender and by cashier"""
        return services.sales_report(current_store_id(), **query)


@reports.route("/best-sellers")
class BestSellers(MethodView):
    @allow(*MANAGERS)
    @reports.arguments(BestSellersQuery, location="query")
    @reports.response(200, BestSeller(many=True))
    def get(self, query):
        """Products that sold most, by units or by revenue, net of refunds"""
        return services.best_sellers(current_store_id(), **query)


@reports.route("/low-stock")
class LowStockReport(MethodView):
    @allow(*MANAGERS)
    @reports.response(200, ProductOut(many=True))
    @reports.paginate(SelectPage)
    def get(self):
        """Active products at or under their low-stock threshold, fewest left first"""
        return services.low_stock(current_store_id())


@reports.route("/exports")
class Exports(MethodView):
    @allow(*MANAGERS)
    @reports.arguments(ExportIn)
    @reports.response(202, ExportOut)
    def post(self, body):
        """Export a report to CSV or XLSX in the background"""
        return exports.request_export(current_store_id(), current_user.id, body["report"], body["format"],
                                      body["date_from"], body["date_to"])


@reports.route("/exports/<id:export_id>")
class ExportById(MethodView):
    @allow(*MANAGERS)
    @reports.response(200, ExportOut)
    def get(self, export_id):
        """An export's status (only the person who asked sees it)"""
        return exports.get_export(export_id, current_user.id)


@reports.route("/exports/<id:export_id>/download")
class ExportDownload(MethodView):
    @allow(*MANAGERS)
    @reports.response(200, description="The file (text/csv or XLSX).", content_type="application/octet-stream")
    @reports.alt_response(409, description="Not done yet.")
    @reports.alt_response(410, description="Cleaned up; request it again.")
    def get(self, export_id):
        """Download a finished export (only the person who asked)"""
        export, path = exports.downloadable(export_id, current_user.id)
        return send_file(path, mimetype=_MEDIA_TYPES[export.format], as_attachment=True,
                         download_name=f"{export.report}-{export.date_from}-{export.date_to}.{export.format}")


@dashboard.route("")
class DashboardView(MethodView):
    @allow(*MANAGERS)
    @dashboard.response(200, Dashboard)
    def get(self):
        """Today so far against the same weekday last week, open online orders, low stock, last sales"""
        return services.dashboard(current_store_id())
