"""Bulk import of products from CSV: the upload is checked at once, a real Celery worker applies it."""

import io

import pytest
from sqlalchemy import select

from app.catalog.imports import run_import
from app.catalog.models import Category, Product, ProductImport
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement
from tasks.catalog import import_products
from tests.api.test_stock import assert_ledger_consistent
from tests.helpers import assert_error, count_rows, wait_for


@pytest.fixture
def manager(auth_headers):
    return auth_headers("supervisor")


def upload(client, headers, content, filename="produk.csv"):
    raw = content.encode() if isinstance(content, str) else content
    return client.post(
        "/api/products/imports",
        data={"file": (io.BytesIO(raw), filename)},
        headers=headers,
        content_type="multipart/form-data",
    )


def import_status(app, import_id):
    with app.app_context():
        return db.session.scalar(select(ProductImport.status).where(ProductImport.id == import_id))


def import_and_wait(app, client, headers, content):
    """Upload, let the worker apply it, and return the import as the API shows it."""
    response = upload(client, headers, content)
    assert response.status_code == 202, response.get_json()
    import_id = response.get_json()["id"]
    wait_for(lambda: import_status(app, import_id) != "pending", timeout=30, message=f"import {import_id} to finish")
    report = client.get(f"/api/products/imports/{import_id}", headers=headers)
    assert report.status_code == 200
    return report.get_json()


def catalog(app):
    """Every product with its category name and stock, by SKU."""
    with app.app_context():
        stock = dict(db.session.execute(select(StockLevel.product_id, StockLevel.quantity)).all())
        return {
            product.sku: {
                "name": product.name,
                "barcode": product.barcode,
                "price_idr": product.price_idr,
                "cost_idr": product.cost_idr,
                "category": product.category.name if product.category else None,
                "low_stock_threshold": product.low_stock_threshold,
                "is_active": product.is_active,
                "stock": stock.get(product.id, 0),
            }
            for product in db.session.scalars(select(Product))
        }


def movements(app):
    with app.app_context():
        return [
            (movement.product_id, movement.delta, movement.reason, movement.reference)
            for movement in db.session.scalars(select(StockMovement).order_by(StockMovement.id))
        ]


def create_product(client, headers, sku, **fields):
    response = client.post(
        "/api/products", json={"sku": sku, "name": f"Produk {sku}", "price_idr": 1_000, **fields}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- applied by the worker -----------------------------------------------------------


def test_good_rows_go_in_and_bad_rows_are_reported(app, client, manager, celery_worker):
    content = (
        "sku,name,price_idr,category,stock,barcode,cost_idr,low_stock_threshold,is_active\n"
        "KOPI-1,Kopi Tubruk,12000,Minuman,24,8990001,6000,5,ya\n"
        'TEH-1,"Teh Manis, Es",8000,Minuman,0,,,,\n'
        "ROTI-1,Roti Bakar,-5,Makanan,3,,,,\n"
        "\n"
        "SUSU-1,Susu,1.5,Minuman,2,,,,\n"
        "NASI-1,Nasi Goreng,25000,Makanan,7,,,,tidak\n"
        "BAD SKU,Rusak,1000,,,,,,\n"
        "MIE-1,,15000,Makanan,1,,,,\n"
    )

    report = import_and_wait(app, client, manager, content)

    assert report["status"] == "done"
    assert report["filename"] == "produk.csv"
    assert (report["total_rows"], report["created_count"], report["updated_count"], report["error_count"]) == (7, 3, 0, 4)
    assert report["finished_at"].endswith("+00:00")
    errors = {error["row"]: error for error in report["row_errors"]}
    assert sorted(errors) == [4, 6, 8, 9]
    assert errors[4]["sku"] == "ROTI-1" and "price_idr" in errors[4]["errors"]
    assert errors[6]["sku"] == "SUSU-1" and "price_idr" in errors[6]["errors"]
    assert errors[8]["sku"] == "BAD SKU" and "sku" in errors[8]["errors"]
    assert errors[9]["sku"] == "MIE-1" and "name" in errors[9]["errors"]

    assert catalog(app) == {
        "KOPI-1": {"name": "Kopi Tubruk", "barcode": "8990001", "price_idr": 12_000, "cost_idr": 6_000,
                   "category": "Minuman", "low_stock_threshold": 5, "is_active": True, "stock": 24},
        "TEH-1": {"name": "Teh Manis, Es", "barcode": None, "price_idr": 8_000, "cost_idr": None,
                  "category": "Minuman", "low_stock_threshold": 0, "is_active": True, "stock": 0},
        "NASI-1": {"name": "Nasi Goreng", "barcode": None, "price_idr": 25_000, "cost_idr": None,
                   "category": "Makanan", "low_stock_threshold": 0, "is_active": False, "stock": 7},
    }
    with app.app_context():
        assert sorted(db.session.scalars(select(Category.name))) == ["Makanan", "Minuman"]
        ids = dict(db.session.execute(select(Product.sku, Product.id)).all())
    reference = f"product_import:{report['id']}"
    assert movements(app) == [(ids["KOPI-1"], 24, "initial", reference), (ids["NASI-1"], 7, "initial", reference)]
    assert_ledger_consistent(app)


def test_applying_again_changes_nothing(app, client, manager, celery_worker):
    content = "sku,name,price_idr,stock,category\nKOPI-1,Kopi,12000,10,Minuman\nTEH-1,Teh,8000,4,Minuman\n"
    report = import_and_wait(app, client, manager, content)
    before = (catalog(app), movements(app), report)

    with app.app_context():
        assert run_import(report["id"]).status == "done"
    import_products.apply_async(args=[report["id"]]).get(timeout=30)

    after_report = client.get(f"/api/products/imports/{report['id']}", headers=manager).get_json()
    assert (catalog(app), movements(app), after_report) == before
    with app.app_context():
        assert count_rows(Category) == 1


def test_semicolons_indonesian_headers_and_rupiah_prices(app, client, manager, celery_worker):
    content = (
        "\ufeffKode;Nama;Harga;Harga Beli;Kategori;Stok;Stok Minimum;Aktif\n"
        "KOPI-1;Kopi Susu;Rp 15.000;Rp. 9.500;Minuman;12;3;Ya\n"
        "TEH-1;Teh Tarik;Rp12.500;;Minuman;0;;\n"
        "ROTI-1;Roti Bakar;1.250.000;;Makanan;1;;\n"
        "NASI-1;Nasi Uduk;Rp 15.000,50;;Makanan;1;;\n"
        "MIE-1;Mie Ayam;7000;;Makanan;2,5;;\n"
    )

    report = import_and_wait(app, client, manager, content)

    assert (report["created_count"], report["error_count"]) == (3, 2)
    assert [(error["row"], error["sku"], sorted(error["errors"])) for error in report["row_errors"]] == [
        (5, "NASI-1", ["price_idr"]), (6, "MIE-1", ["initial_stock"]),
    ]
    products = catalog(app)
    assert {sku: (p["name"], p["price_idr"], p["cost_idr"], p["category"], p["stock"]) for sku, p in products.items()} == {
        "KOPI-1": ("Kopi Susu", 15_000, 9_500, "Minuman", 12),
        "TEH-1": ("Teh Tarik", 12_500, None, "Minuman", 0),
        "ROTI-1": ("Roti Bakar", 1_250_000, None, "Makanan", 1),
    }
    assert (products["KOPI-1"]["low_stock_threshold"], products["KOPI-1"]["is_active"]) == (3, True)


def test_known_skus_are_updated_and_their_stock_left_alone(app, client, manager, celery_worker):
    drinks = client.post("/api/categories", json={"name": "Minuman"}, headers=manager).get_json()
    existing = create_product(client, manager, "KOPI-1", barcode="111", initial_stock=5, category_id=drinks["id"])
    before_movements = movements(app)

    report = import_and_wait(
        app, client, manager,
        "sku,name,price_idr,barcode,category,stock\nKOPI-1,Kopi Baru,17000,111,minuman,99\nTEH-1,Teh,8000,,MINUMAN,2\n",
    )

    assert (report["created_count"], report["updated_count"], report["error_count"]) == (1, 1, 0)
    kopi = catalog(app)["KOPI-1"]
    assert (kopi["name"], kopi["price_idr"], kopi["barcode"], kopi["stock"]) == ("Kopi Baru", 17_000, "111", 5)
    # Categories match by name regardless of case: no "minuman" beside "Minuman".
    assert catalog(app)["TEH-1"]["category"] == "Minuman"
    with app.app_context():
        assert count_rows(Category) == 1
    assert movements(app)[: len(before_movements)] == before_movements
    assert [m for m in movements(app) if m[0] == existing["id"]] == before_movements
    assert client.get(f"/api/products/{existing['id']}", headers=manager).get_json()["stock"] == 5


def test_a_sku_repeated_in_the_file_is_rejected_on_the_later_row(app, client, manager, celery_worker):
    report = import_and_wait(
        app, client, manager,
        "sku,name,price_idr,stock\nKOPI-1,Kopi Pertama,10000,4\nTEH-1,Teh,8000,1\nKOPI-1,Kopi Kedua,99000,50\n",
    )

    assert (report["created_count"], report["error_count"]) == (2, 1)
    [error] = report["row_errors"]
    assert (error["row"], error["sku"], list(error["errors"])) == (4, "KOPI-1", ["sku"])
    kopi = catalog(app)["KOPI-1"]
    assert (kopi["name"], kopi["price_idr"], kopi["stock"]) == ("Kopi Pertama", 10_000, 4)


def test_barcode_conflicts_are_rejected_per_row(app, client, manager, celery_worker):
    create_product(client, manager, "LAMA-1", barcode="8990001")

    report = import_and_wait(
        app, client, manager,
        "sku,name,price_idr,barcode\n"
        "KOPI-1,Kopi,10000,8990001\n"
        "TEH-1,Teh,8000,8990002\n"
        "SUSU-1,Susu,9000,8990002\n"
        "ROTI-1,Roti,5000,8990003\n",
    )

    assert (report["created_count"], report["error_count"]) == (2, 2)
    errors = {error["row"]: error for error in report["row_errors"]}
    assert errors[2]["sku"] == "KOPI-1" and "LAMA-1" in errors[2]["errors"]["barcode"][0]
    assert errors[4]["sku"] == "SUSU-1" and "TEH-1" in errors[4]["errors"]["barcode"][0]
    assert sorted(catalog(app)) == ["LAMA-1", "ROTI-1", "TEH-1"]
    assert catalog(app)["LAMA-1"]["barcode"] == "8990001"


# --- refused at upload: nothing is stored ------------------------------------------------


@pytest.mark.parametrize(
    "content, words",
    [
        pytest.param("sku,name,harga\nKOPI-1,Kopi,Rp 10.000\n".encode("latin-1") + b"TEH-1,Teh \xe9,8000\n", ["UTF-8"],
                     id="not-utf8"),
        pytest.param(b"sku,nama\nKOPI-1,Kopi\n", ["price_idr"], id="missing-price"),
        pytest.param(b"name;price_idr\nKopi;1000\n", ["sku"], id="missing-sku"),
        pytest.param(b"sku,name,price_idr\n", ["no rows"], id="header-only"),
        pytest.param(b"sku,name,price_idr\n\n , , \n", ["no rows"], id="blank-rows"),
        pytest.param(b"", ["sku", "name", "price_idr"], id="empty-file"),
        pytest.param(b"sku,name,price_idr,harga\nA,B,1,2\n", ["price_idr"], id="duplicated-column"),
    ],
)
def test_unusable_file_is_422_and_nothing_is_stored(app, client, manager, content, words):
    response = upload(client, manager, content)

    body = assert_error(response, 422)
    for word in words:
        assert word in body["message"], body
    with app.app_context():
        assert count_rows(ProductImport) == 0
        assert count_rows(Product) == 0


def test_missing_columns_are_listed(client, manager):
    body = assert_error(upload(client, manager, "nama,kategori\nKopi,Minuman\n"), 422)
    assert body["errors"]["file"]["missing_columns"] == ["sku", "price_idr"]


def test_upload_without_a_file_is_422(app, client, manager):
    assert_error(client.post("/api/products/imports", data={}, headers=manager, content_type="multipart/form-data"), 422)
    assert_error(client.post("/api/products/imports", json={"file": "sku,name,price_idr"}, headers=manager), 422)
    with app.app_context():
        assert count_rows(ProductImport) == 0


def test_an_accepted_upload_is_pending_until_the_worker_applies_it(app, client, manager):
    response = upload(client, manager, "sku,name,price_idr\nKOPI-1,Kopi,1000\n", filename="stok awal.csv")

    assert response.status_code == 202
    body = response.get_json()
    assert (body["filename"], body["total_rows"]) == ("stok awal.csv", 1)
    assert body["status"] in ("pending", "done")  # a worker started by an earlier test may be running
    with app.app_context():
        assert count_rows(ProductImport) == 1


def test_unknown_import_is_404(client, manager):
    assert_error(client.get("/api/products/imports/999999", headers=manager), 404)


def test_admin_may_import(client, auth_headers):
    response = upload(client, auth_headers("admin"), "sku,name,price_idr\nKOPI-1,Kopi,1000\n")
    assert response.status_code == 202
