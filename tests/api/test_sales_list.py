"""GET /api/sales and /api/sales/{id}: finding a sale again by day, cashier, customer, status, tender or number."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.sales.models import Sale
from tests.api.test_checkout import assert_error, create_product, make_customer, sold, today_in_store


def listed(client, headers, **params):
    response = client.get("/api/sales", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), json.loads(response.headers["X-Pagination"])


def ids(sales):
    return [sale["id"] for sale in sales]


def move_to_day(app, sale_id, day):
    with app.app_context():
        db.session.execute(update(Sale).where(Sale.id == sale_id).values(business_date=day))
        db.session.commit()


@pytest.fixture
def shop(app, client, make_user, auth_headers, manager):
    """Five sales over three days by two cashiers, one customer, cash, card and QRIS, one voided."""
    today = today_in_store()
    anna, budi = make_user("cashier"), make_user("cashier")
    as_anna, as_budi = auth_headers(user=anna), auth_headers(user=budi)
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000, stock=100)
    customer_id = make_customer(app)

    first = sold(client, as_anna, [(coffee["id"], 1)])
    second = sold(client, as_anna, [(coffee["id"], 2)], customer_id=customer_id,
                  payments=[{"method": "card", "amount_idr": 20_000}])
    third = sold(client, as_budi, [(coffee["id"], 3)], payments=[
        {"method": "qris", "amount_idr": 10_000}, {"method": "cash", "amount_idr": 50_000},
    ])
    fourth = sold(client, as_budi, [(coffee["id"], 4)], customer_id=customer_id)
    fifth = sold(client, as_anna, [(coffee["id"], 5)])
    assert client.post(f"/api/sales/{fifth['id']}/void", json={"reason": "Batal"}, headers=manager).status_code == 200

    move_to_day(app, first["id"], today - timedelta(days=2))
    move_to_day(app, second["id"], today - timedelta(days=1))
    move_to_day(app, third["id"], today - timedelta(days=1))
    return {
        "today": today, "anna": anna, "budi": budi, "customer_id": customer_id,
        "sales": [first, second, third, fourth, fifth],
    }


def test_the_list_is_newest_first_with_pagination(app, client, manager, shop):
    first, second, third, fourth, fifth = ids(shop["sales"])

    page_one, pagination = listed(client, manager, page=1, page_size=2)

    assert ids(page_one) == [fifth, fourth]
    assert pagination["total"] == 5 and pagination["total_pages"] == 3
    assert pagination["page"] == 1 and pagination["next_page"] == 2

    page_three, pagination = listed(client, manager, page=3, page_size=2)
    assert ids(page_three) == [first]
    assert pagination["page"] == 3 and "next_page" not in pagination

    everything, _ = listed(client, manager)
    assert ids(everything) == [fifth, fourth, third, second, first]
    assert everything[1]["items"][0]["qty"] == 4
    assert everything[1]["customer"]["id"] == shop["customer_id"]


def test_a_cashier_may_list_sales(app, client, shop, auth_headers):
    sales, _ = listed(client, auth_headers(user=shop["anna"]))
    assert len(sales) == 5


def test_filter_by_business_date_range(app, client, manager, shop):
    first, second, third, fourth, fifth = ids(shop["sales"])
    today = shop["today"]
    yesterday, two_days_ago = today - timedelta(days=1), today - timedelta(days=2)

    assert ids(listed(client, manager, date_from=yesterday.isoformat(), date_to=yesterday.isoformat())[0]) == [
        third, second
    ]
    assert ids(listed(client, manager, date_from=yesterday.isoformat())[0]) == [fifth, fourth, third, second]
    assert ids(listed(client, manager, date_to=two_days_ago.isoformat())[0]) == [first]
    assert ids(listed(client, manager, date_from=(today + timedelta(days=1)).isoformat())[0]) == []


@pytest.mark.parametrize(
    "filters, expected",
    [
        (lambda shop: {"cashier_id": shop["anna"]["id"]}, [4, 1, 0]),
        (lambda shop: {"cashier_id": shop["budi"]["id"]}, [3, 2]),
        (lambda shop: {"customer_id": shop["customer_id"]}, [3, 1]),
        (lambda shop: {"status": "voided"}, [4]),
        (lambda shop: {"status": "completed"}, [3, 2, 1, 0]),
        (lambda shop: {"method": "card"}, [1]),
        (lambda shop: {"method": "qris"}, [2]),
        (lambda shop: {"method": "cash"}, [4, 3, 2, 0]),
        (lambda shop: {"method": "transfer"}, []),
        (lambda shop: {"number": shop["sales"][2]["number"]}, [2]),
        (lambda shop: {"number": " " + shop["sales"][2]["number"].lower() + " "}, [2]),
        (lambda shop: {"cashier_id": shop["anna"]["id"], "method": "cash", "status": "completed"}, [0]),
    ],
    ids=["anna", "budi", "customer", "voided", "completed", "card", "qris", "cash", "transfer", "number",
         "number-typed-loosely", "combined"],
)
def test_filters(app, client, manager, shop, filters, expected):
    sales, pagination = listed(client, manager, **filters(shop))

    assert ids(sales) == [shop["sales"][index]["id"] for index in expected]
    assert pagination["total"] == len(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-02-30"},
        {"date_from": "yesterday"},
        {"date_from": "2026-11-27", "date_to": "2026-11-26"},
        {"status": "lost"},
        {"method": "gold"},
        {"cashier_id": "anna"},
        {"cashier_id": 2**31},
        {"customer_id": 2**63},
        {"page_size": 101},
        {"page": 0},
        {"number": "S" * 33},
    ],
)
def test_bad_filters_are_422(app, client, manager, params):
    assert_error(client.get("/api/sales", query_string=params, headers=manager), 422)


def test_the_list_needs_a_token(app, client):
    assert_error(client.get("/api/sales"), 401)


def test_get_one_sale(app, client, manager, shop):
    wanted = shop["sales"][1]

    response = client.get(f"/api/sales/{wanted['id']}", headers=manager)

    assert response.status_code == 200
    body = response.get_json()
    assert (body["id"], body["number"], body["total_idr"]) == (wanted["id"], wanted["number"], 20_000)
    assert body["business_date"] == (shop["today"] - timedelta(days=1)).isoformat()
    assert body["payments"] == [{"method": "card", "amount_idr": 20_000, "reference": None}]


@pytest.mark.parametrize("sale_id", [987_654, 2**31, 2**63, 2**70])
def test_an_unknown_sale_is_404(app, client, manager, sale_id):
    assert_error(client.get(f"/api/sales/{sale_id}", headers=manager), 404)
    assert_error(client.get(f"/api/sales/{sale_id}/refunds", headers=manager), 404)
