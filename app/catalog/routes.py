"""Categories and products."""

from flask import Response
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.auth.policy import MANAGERS, STAFF, allow
from app.catalog import imports, services
from app.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryQuery,
    CategoryUpdate,
    ImportOut,
    ImportUpload,
    ProductIn,
    ProductOut,
    ProductQuery,
    ProductUpdate,
)
from app.http import Blueprint, max_body
from app.pagination import SelectPage
from app.stores.services import current_store_id

categories = Blueprint("categories", __name__, url_prefix="/api/categories", description="Product categories.")
products = Blueprint("products", __name__, url_prefix="/api/products", description="Products, with stock at the store.")


@categories.route("")
class Categories(MethodView):
    @allow(*STAFF)
    @categories.arguments(CategoryQuery, location="query")
    @categories.response(200, CategoryOut(many=True))
    @categories.paginate(SelectPage)
    def get(self, filters):
        """List categories"""
        return services.categories_query(**filters)

    @allow(*MANAGERS)
    @categories.arguments(CategoryIn)
    @categories.response(201, CategoryOut)
    @categories.alt_response(409, description="The name is taken.")
    def post(self, data):
        """Create a category"""
        return services.create_category(data)


@categories.route("/<id:category_id>")
class CategoryById(MethodView):
    @allow(*STAFF)
    @categories.response(200, CategoryOut)
    def get(self, category_id):
        """One category"""
        return services.get_category(category_id)

    @allow(*MANAGERS)
    @categories.arguments(CategoryUpdate)
    @categories.response(200, CategoryOut)
    def patch(self, changes, category_id):
        """Rename or re-describe a category"""
        return services.update_category(category_id, changes)

    @allow(*MANAGERS)
    @categories.response(204)
    @categories.alt_response(409, description="Products are still in the category.")
    def delete(self, category_id):
        """Delete an empty category"""
        services.delete_category(category_id)


@products.route("")
class Products(MethodView):
    @allow(*STAFF)
    @products.arguments(ProductQuery, location="query")
    @products.response(200, ProductOut(many=True))
    @products.paginate(SelectPage)
    def get(self, filters):
        """List and search products (name, SKU, barcode), by category, active, low stock"""
        return services.products_query(current_store_id(), **filters)

    @allow(*MANAGERS)
    @products.arguments(ProductIn)
    @products.response(201, ProductOut)
    @products.alt_response(409, description="The SKU or barcode is used by another product.")
    def post(self, data):
        """Create a product, optionally with opening stock"""
        return services.create_product(current_store_id(), current_user.id, data)


@products.route("/low-stock")
class LowStock(MethodView):
    @allow(*STAFF)
    @products.response(200, ProductOut(many=True))
    @products.paginate(SelectPage)
    def get(self):
        """Active products at or under their low-stock threshold, fewest left first"""
        return services.low_stock_query(current_store_id())


@products.route("/by-barcode/<path:code>")  # a SKU may hold "/"
class ProductByBarcode(MethodView):
    @allow(*STAFF)
    @products.response(200, ProductOut)
    def get(self, code):
        """Look up what the scanner read: a barcode, else a SKU"""
        return services.find_by_code(current_store_id(), code)


@products.route("/<id:product_id>")
class ProductById(MethodView):
    @allow(*STAFF)
    @products.response(200, ProductOut)
    def get(self, product_id):
        """One product"""
        return services.get_product(current_store_id(), product_id)

    @allow(*MANAGERS)
    @products.arguments(ProductUpdate)
    @products.response(200, ProductOut)
    @products.alt_response(409, description="The SKU or barcode is used by another product.")
    def patch(self, changes, product_id):
        """Change a product (not its stock: use stock adjustments)"""
        return services.update_product(current_store_id(), product_id, changes)

    @allow(*MANAGERS)
    @products.response(200, ProductOut, description="The product had history and was deactivated instead.")
    @products.alt_response(204, description="The product had no history and was deleted.")
    def delete(self, product_id):
        """Delete a product never used; deactivate one with history"""
        kept = services.remove_product(current_store_id(), product_id)
        # A Response passes through @response untouched; ("", 204) would be dumped as a product.
        return kept if kept is not None else Response(status=204)


@products.route("/imports")
class ProductImports(MethodView):
    @allow(*MANAGERS)
    @max_body(imports.MAX_UPLOAD_BYTES)
    @products.arguments(ImportUpload, location="files")
    @products.response(202, ImportOut)
    def post(self, upload):
        """Import products from a CSV file, in the background

        Columns (header row, `,` or `;` separated, UTF-8): `sku`, `name`,
        `price_idr` required; `barcode`, `category` (by name, created when
        missing), `cost_idr`, `low_stock_threshold`, `stock` (opening stock of
        new products), `is_active` optional. Rows are matched by SKU: new SKUs
        are created, known ones updated. Rejected rows are listed with their
        errors; the others are applied.
        """
        return imports.start_import(current_store_id(), current_user.id, upload["file"])


@products.route("/imports/<id:import_id>")
class ProductImportById(MethodView):
    @allow(*MANAGERS)
    @products.response(200, ImportOut)
    def get(self, import_id):
        """Progress and per-row errors of an import"""
        return imports.get_import(import_id)
