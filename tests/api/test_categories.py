"""Categories under /api/categories: staff read, managers write, names unique regardless of case."""

import json

import pytest
from sqlalchemy import select

from app.catalog.models import Category, Product
from app.extensions import db
from tests.helpers import assert_error, count_rows


def category_rows(app):
    """Every category row as plain values, by id."""
    with app.app_context():
        return {
            category.id: {
                "name": category.name,
                "description": category.description,
                "sort_order": category.sort_order,
                "updated_at": category.updated_at,
            }
            for category in db.session.scalars(select(Category))
        }


@pytest.fixture
def manager(auth_headers):
    return auth_headers("supervisor")


@pytest.fixture
def cashier(auth_headers):
    return auth_headers("cashier")


def create_category(client, headers, name, **fields):
    response = client.post("/api/categories", json={"name": name, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- create, read, update, delete ------------------------------------------


def test_manager_creates_a_category_and_staff_read_it(app, client, manager, cashier):
    response = client.post(
        "/api/categories",
        json={"name": "  Minuman  ", "description": "Kopi, teh, jus", "sort_order": 2},
        headers=manager,
    )

    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "Minuman"
    assert created["description"] == "Kopi, teh, jus"
    assert created["sort_order"] == 2
    assert created["created_at"].endswith("+00:00")
    assert category_rows(app)[created["id"]]["name"] == "Minuman"

    one = client.get(f"/api/categories/{created['id']}", headers=cashier)
    assert one.status_code == 200
    assert one.get_json()["name"] == "Minuman"
    listed = client.get("/api/categories", headers=cashier)
    assert listed.status_code == 200
    assert [category["name"] for category in listed.get_json()] == ["Minuman"]


def test_list_is_ordered_searchable_and_paginated(client, manager):
    for index in range(12):
        create_category(client, manager, f"Kategori {index:02d}", sort_order=0)
    create_category(client, manager, "Makanan Ringan", sort_order=0)

    page = client.get("/api/categories?page=2&page_size=5", headers=manager)
    assert page.status_code == 200
    assert [category["name"] for category in page.get_json()] == [f"Kategori {index:02d}" for index in range(5, 10)]
    pagination = json.loads(page.headers["X-Pagination"])
    assert pagination["total"] == 13
    assert pagination["total_pages"] == 3
    assert pagination["page"] == 2

    found = client.get("/api/categories?q=RINGAN", headers=manager)
    assert [category["name"] for category in found.get_json()] == ["Makanan Ringan"]
    # LIKE wildcards in the search are plain characters.
    assert client.get("/api/categories?q=%25", headers=manager).get_json() == []


def test_rename_and_redescribe(app, client, manager):
    category = create_category(client, manager, "Snack")

    response = client.patch(
        f"/api/categories/{category['id']}", json={"name": "Makanan Ringan", "description": None}, headers=manager
    )

    assert response.status_code == 200
    assert response.get_json()["name"] == "Makanan Ringan"
    assert category_rows(app)[category["id"]]["name"] == "Makanan Ringan"
    # A category may change the case of its own name.
    again = client.patch(f"/api/categories/{category['id']}", json={"name": "MAKANAN RINGAN"}, headers=manager)
    assert again.status_code == 200
    assert again.get_json()["name"] == "MAKANAN RINGAN"


def test_delete_an_empty_category(app, client, manager):
    category = create_category(client, manager, "Musiman")

    response = client.delete(f"/api/categories/{category['id']}", headers=manager)

    assert response.status_code == 204
    assert category["id"] not in category_rows(app)


def test_delete_a_category_with_products_is_refused(app, client, manager):
    category = create_category(client, manager, "Minuman")
    product = client.post(
        "/api/products",
        json={"sku": "KOPI-1", "name": "Kopi", "price_idr": 15000, "category_id": category["id"]},
        headers=manager,
    )
    assert product.status_code == 201

    response = client.delete(f"/api/categories/{category['id']}", headers=manager)

    body = assert_error(response, 409)
    assert "1 products" in body["message"]
    assert category["id"] in category_rows(app)
    with app.app_context():
        assert count_rows(Product, Product.category_id == category["id"]) == 1


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_category_is_404(client, manager, method):
    kwargs = {"json": {"name": "X"}} if method == "patch" else {}
    response = getattr(client, method)("/api/categories/999999", headers=manager, **kwargs)
    assert_error(response, 404)


# --- names -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["minuman", "MINUMAN", "  Minuman "])
def test_name_is_unique_regardless_of_case(app, client, manager, name):
    create_category(client, manager, "Minuman")

    response = client.post("/api/categories", json={"name": name}, headers=manager)

    body = assert_error(response, 409)
    assert body["errors"]["json"]["name"]
    assert [row["name"] for row in category_rows(app).values()] == ["Minuman"]


def test_rename_onto_another_name_is_refused_and_changes_nothing(app, client, manager):
    create_category(client, manager, "Minuman")
    snack = create_category(client, manager, "Snack")
    before = category_rows(app)

    response = client.patch(f"/api/categories/{snack['id']}", json={"name": "MINUMAN"}, headers=manager)

    assert_error(response, 409)
    assert category_rows(app) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"name": 42},
        {"name": "x" * 10_000},
        {"name": "Minuman", "colour": "blue"},
        {"name": "Minuman", "sort_order": -1},
        {"name": "Minuman", "sort_order": 1.5},
        {"name": "Minuman", "description": "d" * 256},
    ],
    ids=["missing", "empty", "blank", "null", "number", "10kB", "unknown-field", "negative-order", "float-order",
         "long-description"],
)
def test_bad_category_is_422_and_nothing_is_written(app, client, manager, body):
    response = client.post("/api/categories", json=body, headers=manager)

    assert_error(response, 422)
    assert category_rows(app) == {}


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "x" * 10_000}, {"id": 5}, {"name": None}])
def test_bad_rename_is_422_and_changes_nothing(app, client, manager, body):
    category = create_category(client, manager, "Minuman")
    before = category_rows(app)

    response = client.patch(f"/api/categories/{category['id']}", json=body, headers=manager)

    assert_error(response, 422)
    assert category_rows(app) == before


# --- who may do what ---------------------------------------------------------


def test_cashier_reads_but_may_not_write(app, client, manager, cashier):
    category = create_category(client, manager, "Minuman")
    before = category_rows(app)

    assert client.get("/api/categories", headers=cashier).status_code == 200
    assert client.get(f"/api/categories/{category['id']}", headers=cashier).status_code == 200
    assert_error(client.post("/api/categories", json={"name": "Snack"}, headers=cashier), 403)
    assert_error(client.patch(f"/api/categories/{category['id']}", json={"name": "Snack"}, headers=cashier), 403)
    assert_error(client.delete(f"/api/categories/{category['id']}", headers=cashier), 403)

    assert category_rows(app) == before


def test_admin_may_write(client, auth_headers):
    admin = auth_headers("admin")
    category = create_category(client, admin, "Minuman")
    assert client.delete(f"/api/categories/{category['id']}", headers=admin).status_code == 204


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/categories"), ("get", "/api/categories/1"), ("post", "/api/categories"),
     ("patch", "/api/categories/1"), ("delete", "/api/categories/1")],
)
def test_no_token_is_401(app, client, method, path):
    response = getattr(client, method)(path, json={"name": "Snack"} if method in ("post", "patch") else None)
    assert_error(response, 401)
    assert category_rows(app) == {}
