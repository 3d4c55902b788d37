"""Swagger UI's static files, served from the swagger-ui-bundle package so /api/docs works offline."""

import swagger_ui_bundle
from flask import Blueprint, send_from_directory

from app.auth.policy import public

blp = Blueprint("docs_assets", __name__)


@blp.route("/api/docs/assets/<path:filename>")
@public
def swagger_asset(filename):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
