"""Fixtures shared by the report export tests (test_exports.py, test_export_cells.py)."""

import secrets
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.reports.models import ReportExport
from tests.reports_support import create_category, create_product, set_tax_and_service


@pytest.fixture
def export_files(app):
    """Ids from a random start (unique file names in the shared EXPORT_DIR); the files go at the end."""
    with app.app_context():
        db.session.execute(text(f"ALTER SEQUENCE report_exports_id_seq RESTART WITH {secrets.randbelow(10**9) + 10**6}"))
        db.session.commit()
    directory = Path(app.config["EXPORT_DIR"])
    yield directory
    with app.app_context():
        ids = db.session.scalars(select(ReportExport.id)).all()
    for export_id in ids:
        for path in directory.glob(f"{export_id}-*"):
            path.unlink(missing_ok=True)


@pytest.fixture
def export_shop(app, client, make_user, auth_headers, export_files):
    """A supervisor, a cashier, 10 % tax and service, KOPI (20 000) and TEH (5 000) in "Minuman"."""
    supervisor, cashier = make_user("supervisor"), make_user("cashier")
    set_tax_and_service(app, tax_rate_bp=1000, service_charge_bp=1000)
    manager = auth_headers(user=supervisor)
    drinks = create_category(client, manager, "Minuman")
    return {
        "app": app, "client": client, "manager": manager, "cashier": auth_headers(user=cashier),
        "supervisor": supervisor["username"], "cashier_name": cashier["username"], "dir": export_files,
        "KOPI": create_product(client, manager, "KOPI", 20_000, category_id=drinks),
        "TEH": create_product(client, manager, "TEH", 5_000, category_id=drinks),
    }
