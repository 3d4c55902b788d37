"""Products under /api/products: create, read, search, change, delete or deactivate, who may do what."""

import io
import json

import pytest
from sqlalchemy import select

from app.catalog.models import Category, Product, ProductImport
from app.extensions import db
from app.inventory.models import StockLevel, StockMovement, StockTake
from tests.helpers import assert_error, count_rows


def product_rows(app):
    """Every product row as plain values, by SKU."""
    with app.app_context():
        return {
            product.sku: {
                "id": product.id,
                "barcode": product.barcode,
                "name": product.name,
                "category_id": product.category_id,
                "price_idr": product.price_idr,
                "cost_idr": product.cost_idr,
                "low_stock_threshold": product.low_stock_threshold,
                "is_active": product.is_active,
                "updated_at": product.updated_at,
            }
            for product in db.session.scalars(select(Product))
        }


def ledger_counts(app):
    with app.app_context():
        return {"levels": count_rows(StockLevel), "movements": count_rows(StockMovement)}


@pytest.fixture
def manager(auth_headers):
    return auth_headers("supervisor")


@pytest.fixture
def cashier(auth_headers):
    return auth_headers("cashier")


def create_product(client, headers, sku, **fields):
    body = {"sku": sku, "name": f"Produk {sku}", "price_idr": 10_000, **fields}
    response = client.post("/api/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_category(client, headers, name):
    response = client.post("/api/categories", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- create and read -------------------------------------------------------


def test_create_a_product_with_opening_stock(app, client, auth_headers):
    admin = auth_headers("admin")
    category = create_category(client, admin, "Minuman")

    response = client.post(
        "/api/products",
        json={
            "sku": "KOPI-SUSU-01",
            "barcode": "8991234567890",
            "name": " Kopi Susu Gula Aren ",
            "category_id": category["id"],
            "price_idr": 18_000,
            "cost_idr": 9_500,
            "low_stock_threshold": 5,
            "initial_stock": 24,
        },
        headers=admin,
    )

    assert response.status_code == 201
    product = response.get_json()
    assert {key: product[key] for key in (
        "sku", "barcode", "name", "category_id", "category_name", "price_idr", "cost_idr", "stock",
        "low_stock_threshold", "is_active", "is_low_stock",
    )} == {
        "sku": "KOPI-SUSU-01", "barcode": "8991234567890", "name": "Kopi Susu Gula Aren",
        "category_id": category["id"], "category_name": "Minuman", "price_idr": 18_000, "cost_idr": 9_500,
        "stock": 24, "low_stock_threshold": 5, "is_active": True, "is_low_stock": False,
    }
    assert product["created_at"].endswith("+00:00")
    with app.app_context():
        [movement] = db.session.scalars(select(StockMovement)).all()
        assert (movement.product_id, movement.delta, movement.balance_after, movement.reason, movement.reference) == (
            product["id"], 24, 24, "initial", f"product:{product['id']}"
        )
        assert db.session.get(StockLevel, (movement.store_id, product["id"])).quantity == 24


def test_create_without_opening_stock_writes_no_movement(app, client, manager):
    product = create_product(client, manager, "TEH-01")

    assert product["stock"] == 0
    assert product["is_active"] is True
    assert product["barcode"] is None
    assert ledger_counts(app) == {"levels": 0, "movements": 0}
    assert client.get(f"/api/products/{product['id']}", headers=manager).get_json()["stock"] == 0


def test_get_one_and_404(client, manager, cashier):
    product = create_product(client, manager, "ROTI-01", initial_stock=3)

    response = client.get(f"/api/products/{product['id']}", headers=cashier)
    assert response.status_code == 200
    assert response.get_json()["sku"] == "ROTI-01"
    assert response.get_json()["stock"] == 3

    assert_error(client.get("/api/products/999999", headers=cashier), 404)
    assert_error(client.patch("/api/products/999999", json={"name": "X"}, headers=manager), 404)
    assert_error(client.delete("/api/products/999999", headers=manager), 404)


def test_cashier_does_not_see_cost_but_managers_do(client, auth_headers, manager, cashier):
    product = create_product(client, manager, "GULA-1KG", barcode="899000111", cost_idr=12_000, low_stock_threshold=5)
    admin = auth_headers("admin")

    for path in (f"/api/products/{product['id']}", "/api/products/by-barcode/899000111"):
        assert client.get(path, headers=admin).get_json()["cost_idr"] == 12_000
        assert client.get(path, headers=manager).get_json()["cost_idr"] == 12_000
        cashier_view = client.get(path, headers=cashier)
        assert cashier_view.status_code == 200
        assert "cost_idr" not in cashier_view.get_json()
        assert cashier_view.get_json()["price_idr"] == 10_000
    for path in ("/api/products", "/api/products/low-stock"):
        [listed] = client.get(path, headers=cashier).get_json()
        assert "cost_idr" not in listed
        assert client.get(path, headers=admin).get_json()[0]["cost_idr"] == 12_000


# --- bad input changes nothing ------------------------------------------------

VALID = {"sku": "SKU-1", "name": "Kopi", "price_idr": 15_000}


@pytest.mark.parametrize(
    "changes",
    [
        {"price_idr": -1},
        {"price_idr": 1.5},
        {"price_idr": 1000.0},
        {"price_idr": "15000"},
        {"price_idr": True},
        {"price_idr": None},
        {"price_idr": 10**13},
        {"cost_idr": -5},
        {"cost_idr": 2.5},
        {"category_id": 999_999},
        {"category_id": "1"},
        {"name": ""},
        {"name": "   "},
        {"name": "n" * 10_000},
        {"sku": ""},
        {"sku": "has space"},
        {"sku": "s" * 65},
        {"barcode": ""},
        {"barcode": "12 34"},
        {"low_stock_threshold": -1},
        {"initial_stock": -1},
        {"initial_stock": 2.0},
        {"stock": 10},
        {"colour": "red"},
        {"is_active": "maybe"},
    ],
    ids=lambda changes: "-".join(f"{key}={str(value)[:12]}" for key, value in changes.items()),
)
def test_bad_product_is_refused_and_nothing_is_written(app, client, manager, changes):
    response = client.post("/api/products", json={**VALID, **changes}, headers=manager)

    body = assert_error(response, 422)
    field = next(iter(changes))
    assert field in json.dumps(body.get("errors", {})), body
    assert product_rows(app) == {}
    assert ledger_counts(app) == {"levels": 0, "movements": 0}


@pytest.mark.parametrize("missing", ["sku", "name", "price_idr"])
def test_required_fields(app, client, manager, missing):
    body = {key: value for key, value in VALID.items() if key != missing}

    response = client.post("/api/products", json=body, headers=manager)

    assert assert_error(response, 422)["errors"]["json"][missing]
    assert product_rows(app) == {}


def test_body_must_be_a_json_object(app, client, manager):
    assert client.post("/api/products", data="not json", headers=manager, content_type="application/json").status_code in (400, 422)
    assert_error(client.post("/api/products", json=[VALID], headers=manager), 422)
    assert product_rows(app) == {}


def test_duplicate_sku_is_409_and_the_first_product_is_unchanged(app, client, manager):
    create_product(client, manager, "KOPI-1", barcode="111", initial_stock=5)
    before = product_rows(app)

    response = client.post(
        "/api/products", json={"sku": "KOPI-1", "name": "Lain", "price_idr": 1, "initial_stock": 9}, headers=manager
    )

    body = assert_error(response, 409)
    assert body["errors"]["json"]["sku"]
    assert product_rows(app) == before
    assert ledger_counts(app) == {"levels": 1, "movements": 1}


def test_duplicate_barcode_is_409_and_nothing_is_written(app, client, manager):
    create_product(client, manager, "KOPI-1", barcode="8991234")
    before = product_rows(app)

    response = client.post(
        "/api/products", json={"sku": "KOPI-2", "barcode": "8991234", "name": "Lain", "price_idr": 1}, headers=manager
    )

    body = assert_error(response, 409)
    assert body["errors"]["json"]["barcode"]
    assert product_rows(app) == before


# --- change ------------------------------------------------------------------


def test_patch_changes_only_what_is_sent(app, client, manager):
    category = create_category(client, manager, "Roti")
    product = create_product(client, manager, "ROTI-1", barcode="555", cost_idr=4_000, initial_stock=7)

    response = client.patch(
        f"/api/products/{product['id']}",
        json={"name": "Roti Tawar", "price_idr": 16_500, "category_id": category["id"], "barcode": None},
        headers=manager,
    )

    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["name"], changed["price_idr"], changed["category_id"], changed["barcode"]) == (
        "Roti Tawar", 16_500, category["id"], None
    )
    assert (changed["sku"], changed["cost_idr"], changed["stock"]) == ("ROTI-1", 4_000, 7)
    row = product_rows(app)["ROTI-1"]
    assert (row["name"], row["price_idr"], row["barcode"]) == ("Roti Tawar", 16_500, None)


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"stock": 100}, 422),
        ({"price_idr": -1}, 422),
        ({"price_idr": 1.5}, 422),
        ({"price_idr": 1000.0}, 422),
        ({"price_idr": "2000"}, 422),
        ({"category_id": 999_999}, 422),
        ({"name": ""}, 422),
        ({"name": "n" * 10_000}, 422),
        ({"id": 12}, 422),
        ({"initial_stock": 5}, 422),
        ({"sku": "TAKEN-1"}, 409),
        ({"barcode": "taken-code"}, 409),
    ],
    ids=lambda value: str(value)[:20] if not isinstance(value, int) else str(value),
)
def test_bad_patch_changes_nothing(app, client, manager, changes, code):
    create_product(client, manager, "TAKEN-1", barcode="taken-code")
    product = create_product(client, manager, "MINE-1", barcode="mine", initial_stock=4)
    before = product_rows(app)

    response = client.patch(f"/api/products/{product['id']}", json=changes, headers=manager)

    assert_error(response, code)
    assert product_rows(app) == before
    assert client.get(f"/api/products/{product['id']}", headers=manager).get_json()["stock"] == 4
    assert ledger_counts(app) == {"levels": 1, "movements": 1}


def test_patch_may_keep_its_own_sku_and_barcode(client, manager):
    product = create_product(client, manager, "MINE-1", barcode="mine")

    response = client.patch(
        f"/api/products/{product['id']}", json={"sku": "MINE-1", "barcode": "mine", "price_idr": 0}, headers=manager
    )

    assert response.status_code == 200
    assert response.get_json()["price_idr"] == 0


# --- list, search, filters ------------------------------------------------------


def test_list_paginates_with_the_x_pagination_header(client, manager, cashier):
    for index in range(25):
        create_product(client, manager, f"P-{index:02d}", name=f"Produk {index:02d}")

    response = client.get("/api/products?page=2&page_size=10", headers=cashier)

    assert response.status_code == 200
    assert [product["sku"] for product in response.get_json()] == [f"P-{index:02d}" for index in range(10, 20)]
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination == {
        "total": 25, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2, "previous_page": 1, "next_page": 3,
    }
    last = client.get("/api/products?page=3&page_size=10", headers=cashier)
    assert len(last.get_json()) == 5
    assert_error(client.get("/api/products?page_size=101", headers=cashier), 422)
    assert_error(client.get("/api/products?page=0", headers=cashier), 422)


def test_search_by_partial_name_partial_sku_and_exact_barcode(client, manager, cashier):
    create_product(client, manager, "KOPI-SUSU-01", name="Es Kopi Susu", barcode="8990001")
    create_product(client, manager, "TEH-MANIS-01", name="Teh Manis", barcode="8990002")
    create_product(client, manager, "ROTI-BKR-7", name="Roti Bakar", barcode="7770003")

    def skus(query):
        response = client.get("/api/products", query_string={"q": query}, headers=cashier)
        assert response.status_code == 200
        return sorted(product["sku"] for product in response.get_json())

    assert skus("kopi susu") == ["KOPI-SUSU-01"]
    assert skus("TEH") == ["TEH-MANIS-01"]
    assert skus("bkr") == ["ROTI-BKR-7"]
    assert skus("-01") == ["KOPI-SUSU-01", "TEH-MANIS-01"]
    assert skus("7770003") == ["ROTI-BKR-7"]
    # Barcodes match whole, not in part.
    assert skus("899000") == []
    assert skus("%") == []
    assert skus("zzz") == []


def test_filter_by_category_active_and_low_stock(client, manager, cashier):
    drinks = create_category(client, manager, "Minuman")
    food = create_category(client, manager, "Makanan")
    kopi = create_product(client, manager, "KOPI", category_id=drinks["id"], initial_stock=2, low_stock_threshold=5)
    teh = create_product(client, manager, "TEH", category_id=drinks["id"], initial_stock=50, low_stock_threshold=5)
    roti = create_product(client, manager, "ROTI", category_id=food["id"], initial_stock=5, low_stock_threshold=5)
    old = create_product(client, manager, "OLD", category_id=food["id"], low_stock_threshold=5)
    assert client.patch(f"/api/products/{old['id']}", json={"is_active": False}, headers=manager).status_code == 200

    def skus(**query):
        response = client.get("/api/products", query_string=query, headers=cashier)
        assert response.status_code == 200
        return sorted(product["sku"] for product in response.get_json())

    assert skus(category_id=drinks["id"]) == ["KOPI", "TEH"]
    assert skus(category_id=food["id"]) == ["OLD", "ROTI"]
    assert skus(is_active="false") == ["OLD"]
    assert skus(is_active="true") == ["KOPI", "ROTI", "TEH"]
    assert skus(low_stock="true") == ["KOPI", "ROTI"]
    assert skus(low_stock="true", category_id=food["id"]) == ["ROTI"]
    assert skus(q="o", is_active="true", category_id=food["id"]) == ["ROTI"]
    assert {kopi["id"], teh["id"], roti["id"]} <= {p["id"] for p in client.get("/api/products", headers=cashier).get_json()}
    assert_error(client.get("/api/products?category_id=abc", headers=cashier), 422)


def test_low_stock_lists_active_products_at_or_under_threshold_fewest_first(client, manager, cashier):
    create_product(client, manager, "AT", initial_stock=5, low_stock_threshold=5)
    create_product(client, manager, "UNDER", initial_stock=1, low_stock_threshold=5)
    create_product(client, manager, "EMPTY", low_stock_threshold=3)
    create_product(client, manager, "ABOVE", initial_stock=6, low_stock_threshold=5)
    create_product(client, manager, "NO-THRESHOLD", initial_stock=0)
    gone = create_product(client, manager, "GONE", initial_stock=1, low_stock_threshold=5)
    assert client.patch(f"/api/products/{gone['id']}", json={"is_active": False}, headers=manager).status_code == 200

    response = client.get("/api/products/low-stock", headers=cashier)

    assert response.status_code == 200
    listed = [(product["sku"], product["stock"], product["low_stock_threshold"]) for product in response.get_json()]
    # A threshold of 0 means "warn when none are left": 0 units is at it.
    assert listed == [("EMPTY", 0, 3), ("NO-THRESHOLD", 0, 0), ("UNDER", 1, 5), ("AT", 5, 5)]
    assert all(product["is_low_stock"] for product in response.get_json())
    assert "X-Pagination" in response.headers


def test_by_barcode_finds_the_barcode_then_falls_back_to_sku(client, manager, cashier):
    by_barcode = create_product(client, manager, "KOPI-1", barcode="8991234567890", initial_stock=3)
    by_sku = create_product(client, manager, "TEH-1", barcode=None)
    # A barcode that equals another product's SKU: the barcode wins.
    shadow = create_product(client, manager, "CLASH", barcode="TEH-1")

    found = client.get("/api/products/by-barcode/8991234567890", headers=cashier)
    assert found.status_code == 200
    assert (found.get_json()["id"], found.get_json()["stock"]) == (by_barcode["id"], 3)
    assert client.get("/api/products/by-barcode/KOPI-1", headers=cashier).get_json()["id"] == by_barcode["id"]
    assert client.get("/api/products/by-barcode/TEH-1", headers=cashier).get_json()["id"] == shadow["id"]
    assert by_sku["id"] != shadow["id"]
    assert_error(client.get("/api/products/by-barcode/0000000", headers=cashier), 404)
    assert_error(client.get("/api/products/by-barcode/899123456789", headers=cashier), 404)


def test_by_barcode_falls_back_to_a_sku_with_a_slash(client, manager, cashier):
    """SKUs may contain '/', as in KOPI/250G; the scanner may read one printed as a barcode."""
    product = create_product(client, manager, "KOPI/250G")

    for path in ("/api/products/by-barcode/KOPI/250G", "/api/products/by-barcode/KOPI%2F250G"):
        response = client.get(path, headers=cashier)
        assert response.status_code == 200, path
        assert response.get_json()["id"] == product["id"]


# --- delete or deactivate -------------------------------------------------------


def test_delete_a_product_never_used_removes_it(app, client, manager):
    product = create_product(client, manager, "NEW-1", initial_stock=0)

    response = client.delete(f"/api/products/{product['id']}", headers=manager)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert product_rows(app) == {}
    assert_error(client.get(f"/api/products/{product['id']}", headers=manager), 404)


def test_delete_a_product_with_history_deactivates_it(app, client, manager):
    product = create_product(client, manager, "USED-1", initial_stock=6)

    response = client.delete(f"/api/products/{product['id']}", headers=manager)

    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert response.get_json()["stock"] == 6
    row = product_rows(app)["USED-1"]
    assert row["is_active"] is False
    assert ledger_counts(app) == {"levels": 1, "movements": 1}
    # Still readable, listed among inactive products, not among active ones.
    assert client.get(f"/api/products/{product['id']}", headers=manager).status_code == 200
    assert client.get("/api/products?is_active=false", headers=manager).get_json()[0]["sku"] == "USED-1"
    assert client.get("/api/products?is_active=true", headers=manager).get_json() == []


def test_delete_a_product_counted_in_a_stock_take_keeps_it(app, client, manager):
    """A count of 0 for a product with no stock writes no movement, but the stock take line refers to it."""
    product = create_product(client, manager, "COUNTED-1")
    with app.app_context():
        stock_take = StockTake(store_id=1, status="applied", line_count=1)
        db.session.add(stock_take)
        db.session.flush()
        from app.inventory.models import StockTakeLine

        db.session.add(StockTakeLine(stock_take_id=stock_take.id, product_id=product["id"], counted=0, expected=0,
                                     difference=0))
        db.session.commit()

    response = client.delete(f"/api/products/{product['id']}", headers=manager)

    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert product_rows(app)["COUNTED-1"]["is_active"] is False


# --- who may do what -----------------------------------------------------------


def test_cashier_reads_the_catalog_and_stock_but_may_not_change_them(app, client, manager, cashier):
    category = create_category(client, manager, "Minuman")
    product = create_product(client, manager, "KOPI-1", barcode="123", initial_stock=5, category_id=category["id"])
    before = (product_rows(app), ledger_counts(app))
    pid = product["id"]

    for path in (
        "/api/products", f"/api/products/{pid}", "/api/products/by-barcode/123", "/api/products/low-stock",
        f"/api/products/{pid}/stock-movements", "/api/categories", f"/api/categories/{category['id']}",
    ):
        assert client.get(path, headers=cashier).status_code == 200, path

    writes = [
        ("post", "/api/products", {"json": {"sku": "X-1", "name": "X", "price_idr": 1}}),
        ("patch", f"/api/products/{pid}", {"json": {"price_idr": 1}}),
        ("delete", f"/api/products/{pid}", {}),
        ("post", f"/api/products/{pid}/stock-adjustments", {"json": {"delta": -1}}),
        ("post", "/api/stock-takes", {"json": {"counts": [{"product_id": pid, "counted": 0}]}}),
        ("get", "/api/stock-takes", {}),
        ("get", "/api/stock-takes/1", {}),
        ("post", "/api/products/imports", {"data": {"file": (io.BytesIO(b"sku,name,price_idr\nA,B,1\n"), "p.csv")}}),
        ("get", "/api/products/imports/1", {}),
    ]
    for method, path, kwargs in writes:
        assert_error(getattr(client, method)(path, headers=cashier, **kwargs), 403)

    assert (product_rows(app), ledger_counts(app)) == before
    with app.app_context():
        assert count_rows(StockTake) == 0
        assert count_rows(ProductImport) == 0
        assert count_rows(Category) == 1


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/products"),
        ("post", "/api/products"),
        ("get", "/api/products/1"),
        ("patch", "/api/products/1"),
        ("delete", "/api/products/1"),
        ("get", "/api/products/low-stock"),
        ("get", "/api/products/by-barcode/123"),
        ("post", "/api/products/1/stock-adjustments"),
        ("get", "/api/products/1/stock-movements"),
        ("post", "/api/stock-takes"),
        ("get", "/api/stock-takes"),
        ("get", "/api/stock-takes/1"),
        ("post", "/api/products/imports"),
        ("get", "/api/products/imports/1"),
    ],
)
def test_no_token_is_401(client, method, path):
    assert_error(getattr(client, method)(path), 401)
    assert_error(getattr(client, method)(path, headers={"Authorization": "Bearer not-a-token"}), 401)


# --- the OpenAPI document ------------------------------------------------------

OPERATIONS = {
    ("/api/categories", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/categories", "post"): "Roles: admin, supervisor.",
    ("/api/categories/{category_id}", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/categories/{category_id}", "patch"): "Roles: admin, supervisor.",
    ("/api/categories/{category_id}", "delete"): "Roles: admin, supervisor.",
    ("/api/products", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/products", "post"): "Roles: admin, supervisor.",
    ("/api/products/{product_id}", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/products/{product_id}", "patch"): "Roles: admin, supervisor.",
    ("/api/products/{product_id}", "delete"): "Roles: admin, supervisor.",
    ("/api/products/low-stock", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/products/by-barcode/{code}", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/products/{product_id}/stock-adjustments", "post"): "Roles: admin, supervisor.",
    ("/api/products/{product_id}/stock-movements", "get"): "Roles: admin, supervisor, cashier.",
    ("/api/stock-takes", "post"): "Roles: admin, supervisor.",
    ("/api/stock-takes", "get"): "Roles: admin, supervisor.",
    ("/api/stock-takes/{stock_take_id}", "get"): "Roles: admin, supervisor.",
    ("/api/products/imports", "post"): "Roles: admin, supervisor.",
    ("/api/products/imports/{import_id}", "get"): "Roles: admin, supervisor.",
}


def test_every_catalog_and_stock_endpoint_is_documented_with_its_roles(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()

    for (path, method), access in OPERATIONS.items():
        operation = spec["paths"].get(path, {}).get(method)
        assert operation is not None, f"{method.upper()} {path} is not in the spec"
        assert operation["x-access"] == access, (path, method)
        assert operation["security"] == [{"bearerAuth": []}]
        assert "401" in operation["responses"]
        if access.count(",") < 2:
            assert "403" in operation["responses"], (path, method)

    documented = {
        (path, method)
        for path, methods in spec["paths"].items()
        if path.startswith(("/api/products", "/api/categories", "/api/stock-takes"))
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented == set(OPERATIONS)
    assert spec["paths"]["/api/products/{product_id}/stock-adjustments"]["post"]["responses"]["409"]
    assert spec["paths"]["/api/stock-takes"]["post"]["responses"]["202"]
