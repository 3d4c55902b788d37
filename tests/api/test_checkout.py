"""POST /api/sales: the till's checkout, as a cashier's screen calls it.

Totals are compared with figures worked out by hand from the rules in
app/sales/pricing.py; every refusal is checked to leave no sale, line,
tender, stock movement or idempotency key behind.

The helpers at the top are shared with the other sales test modules.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.extensions import db
from app.idempotency import IdempotencyKey
from app.inventory.models import StockLevel, StockMovement
from app.sales.models import Sale, SaleItem, SalePayment
from app.stores.models import default_store
from tests.helpers import assert_error, count_rows, give_pin

PLENTY_OF_CASH = [{"method": "cash", "amount_idr": 10_000_000}]
NUMBER = re.compile(r"^S-(\d{8})-(\d{4})$")


# --- helpers shared by the sales tests ----------------------------------------


def configure_store(app, **settings):
    """Set tax, service charge or the cashier discount limit on the default store."""
    with app.app_context():
        store = default_store()
        for name, value in settings.items():
            setattr(store, name, value)
        db.session.commit()


def create_product(client, headers, sku, price_idr=10_000, stock=100, **fields):
    body = {"sku": sku, "name": f"Produk {sku}", "price_idr": price_idr, "initial_stock": stock, **fields}
    response = client.post("/api/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_stock(client, headers, product_id, delta):
    response = client.post(f"/api/products/{product_id}/stock-adjustments", json={"delta": delta}, headers=headers)
    assert response.status_code == 201, response.get_json()


def sell(client, headers, items, payments=PLENTY_OF_CASH, key=None, **fields):
    """POST /api/sales. `items` are dicts, or (product_id, qty) pairs."""
    lines = [item if isinstance(item, dict) else {"product_id": item[0], "qty": item[1]} for item in items]
    all_headers = dict(headers, **({"Idempotency-Key": key} if key else {}))
    return client.post("/api/sales", json={"items": lines, "payments": payments, **fields}, headers=all_headers)


def sold(client, headers, items, **kwargs):
    """A checkout that must succeed; returns the sale."""
    response = sell(client, headers, items, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def row_counts(app):
    """What a refused write must leave unchanged."""
    with app.app_context():
        return {
            model.__tablename__: count_rows(model)
            for model in (Sale, SaleItem, SalePayment, StockMovement, IdempotencyKey)
        }


def stock_of(app, product_id):
    with app.app_context():
        return db.session.scalar(select(StockLevel.quantity).where(StockLevel.product_id == product_id))


def movements(app, reason=None):
    """(product_id, delta, reference) of the stock movements, oldest first."""
    with app.app_context():
        query = select(StockMovement).order_by(StockMovement.id)
        if reason:
            query = query.where(StockMovement.reason == reason)
        return [(m.product_id, m.delta, m.reference) for m in db.session.scalars(query)]


def make_customer(app, name="Bu Sari", phone="6281234567890"):
    with app.app_context():
        customer = Customer(name=name, phone=phone)
        db.session.add(customer)
        db.session.commit()
        return customer.id


def customer_totals(app, customer_id):
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        return customer.purchase_count, customer.total_spent_idr


def today_in_store():
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


# --- a plain sale --------------------------------------------------------------


def test_checkout_prices_from_the_catalog_takes_stock_and_gives_change(app, client, manager, cashier, cashier_user):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=10)
    bread = create_product(client, manager, "ROTI-1", price_idr=7_500, stock=5)

    response = sell(client, cashier, [(coffee["id"], 2), (bread["id"], 1)],
                    payments=[{"method": "cash", "amount_idr": 50_000}])

    assert response.status_code == 201, response.get_json()
    sale = response.get_json()
    assert NUMBER.match(sale["number"])
    assert sale["business_date"] == today_in_store().isoformat()
    assert sale["status"] == "completed"
    assert sale["cashier"]["id"] == cashier_user["id"]
    assert (sale["subtotal_idr"], sale["discount_idr"], sale["service_charge_idr"], sale["tax_idr"]) == (37_500, 0, 0, 0)
    assert (sale["total_idr"], sale["paid_idr"], sale["change_idr"]) == (37_500, 50_000, 12_500)
    assert sale["tax_name"] is None
    assert [(i["product_id"], i["sku"], i["qty"], i["unit_price_idr"], i["total_share_idr"]) for i in sale["items"]] == [
        (coffee["id"], "KOPI-1", 2, 15_000, 30_000),
        (bread["id"], "ROTI-1", 1, 7_500, 7_500),
    ]
    assert sale["payments"] == [{"method": "cash", "amount_idr": 50_000, "reference": None}]

    assert (stock_of(app, coffee["id"]), stock_of(app, bread["id"])) == (8, 4)
    reference = f"sale:{sale['id']}"
    assert movements(app, "sale") == [(coffee["id"], -2, reference), (bread["id"], -1, reference)]
    assert client.get(f"/api/sales/{sale['id']}", headers=cashier).get_json() == sale


def test_two_lines_of_the_same_product_take_its_stock_once_in_total(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=1_000, stock=5)

    sale = sold(client, manager, [(coffee["id"], 2), (coffee["id"], 3)])

    assert [item["qty"] for item in sale["items"]] == [2, 3]
    assert sale["total_idr"] == 5_000
    assert stock_of(app, coffee["id"]) == 0
    assert movements(app, "sale") == [(coffee["id"], -5, f"sale:{sale['id']}")]


def test_no_token_is_401_and_sells_nothing(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1")
    before = row_counts(app)

    assert_error(sell(client, {}, [(coffee["id"], 1)]), 401)

    assert row_counts(app) == before


# --- totals --------------------------------------------------------------------


def test_totals_with_line_and_sale_discounts_service_charge_and_exclusive_tax(app, client, manager):
    # Worked out in tests/unit/test_pricing.py::test_everything_together:
    # subtotal 90833, line discounts 8750, sale discount 5 % = 4104, service 5 % = 3899,
    # tax 11 % = 9007, total 90885; line shares 47057, 40138, 3690.
    configure_store(app, tax_rate_bp=1_100, service_charge_bp=500)
    first = create_product(client, manager, "A-1", price_idr=25_000)
    second = create_product(client, manager, "B-1", price_idr=12_500)
    third = create_product(client, manager, "C-1", price_idr=3_333)

    sale = sold(client, manager, [
        {"product_id": first["id"], "qty": 2, "discount_percent": 15},
        {"product_id": second["id"], "qty": 3, "discount_idr": 1_250},
        {"product_id": third["id"], "qty": 1},
    ], discount_percent=5, payments=[{"method": "card", "amount_idr": 50_000}, {"method": "cash", "amount_idr": 50_000}])

    assert {k: sale[k] for k in ("subtotal_idr", "line_discount_idr", "sale_discount_idr", "discount_idr",
                                 "service_charge_idr", "tax_idr", "total_idr", "paid_idr", "change_idr")} == {
        "subtotal_idr": 90_833, "line_discount_idr": 8_750, "sale_discount_idr": 4_104, "discount_idr": 12_854,
        "service_charge_idr": 3_899, "tax_idr": 9_007, "total_idr": 90_885, "paid_idr": 100_000,
        "change_idr": 9_115,
    }
    assert (sale["tax_name"], sale["tax_rate_bp"], sale["tax_inclusive"]) == ("PPN", 1_100, False)
    assert [(i["line_discount_idr"], i["sale_discount_share_idr"], i["total_share_idr"]) for i in sale["items"]] == [
        (7_500, 2_125, 47_057), (1_250, 1_812, 40_138), (0, 167, 3_690),
    ]
    with app.app_context():
        row = db.session.get(Sale, sale["id"])
        assert (row.subtotal_idr, row.discount_idr, row.service_charge_idr, row.tax_idr, row.total_idr) == (
            90_833, 12_854, 3_899, 9_007, 90_885
        )
        assert row.service_charge_bp == 500
    assert client.get(f"/api/sales/{sale['id']}", headers=manager).get_json() == sale


def test_inclusive_tax_is_shown_but_not_added(app, client, manager):
    # Net 10000; service 10 % = 1000; 11000 includes 11 %: 11000 x 1100 / 11100 = 1090.09 -> 1090.
    configure_store(app, tax_rate_bp=1_100, tax_inclusive=True, service_charge_bp=1_000)
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000)

    sale = sold(client, manager, [(coffee["id"], 1)], payments=[{"method": "qris", "amount_idr": 11_000}])

    assert (sale["service_charge_idr"], sale["tax_idr"], sale["total_idr"]) == (1_000, 1_090, 11_000)
    assert (sale["tax_inclusive"], sale["change_idr"]) == (True, 0)


@pytest.mark.parametrize(
    "price, line_discount, sale_discount, settings, expected",
    [
        # 10 % of 1005 = 100.5 -> 101; total 904.
        (1_005, {"discount_percent": 10}, {}, {}, {"discount_idr": 101, "total_idr": 904}),
        # 12.5 % of 1004 = 125.5 -> 126 as a sale discount; total 878.
        (1_004, {}, {"discount_percent": 12.5}, {}, {"sale_discount_idr": 126, "total_idr": 878}),
        # Service 5 % of 1010 = 50.5 -> 51; tax 11 % of 1061 = 116.71 -> 117; total 1178.
        (1_010, {}, {}, {"service_charge_bp": 500, "tax_rate_bp": 1_100},
         {"service_charge_idr": 51, "tax_idr": 117, "total_idr": 1_178}),
        # Service 50; tax 11 % of 1050 = 115.5 -> 116; total 1166.
        (1_000, {}, {}, {"service_charge_bp": 500, "tax_rate_bp": 1_100},
         {"service_charge_idr": 50, "tax_idr": 116, "total_idr": 1_166}),
        # 20 % inclusive: 10005 / 6 = 1667.5 -> 1668; total stays 10005.
        (10_005, {}, {}, {"tax_rate_bp": 2_000, "tax_inclusive": True}, {"tax_idr": 1_668, "total_idr": 10_005}),
    ],
    ids=["line-percent", "sale-percent", "service-charge", "exclusive-tax", "inclusive-tax"],
)
def test_half_rupiah_rounds_up(app, client, manager, price, line_discount, sale_discount, settings, expected):
    configure_store(app, **settings)
    product = create_product(client, manager, "HALF-1", price_idr=price)

    sale = sold(client, manager, [{"product_id": product["id"], "qty": 1, **line_discount}], **sale_discount)

    assert {key: sale[key] for key in expected} == expected


def test_sale_amount_discount_is_shared_over_the_lines(app, client, manager):
    # Nets 30000, 10000, 20000; 1000 shared 500, 166.67, 333.33 -> 500, 167, 333 (largest remainder).
    a = create_product(client, manager, "A-1", price_idr=10_000)
    b = create_product(client, manager, "B-1", price_idr=10_000)
    c = create_product(client, manager, "C-1", price_idr=5_000)

    sale = sold(client, manager, [(a["id"], 3), (b["id"], 1), (c["id"], 4)], discount_idr=1_000)

    assert (sale["subtotal_idr"], sale["sale_discount_idr"], sale["total_idr"]) == (60_000, 1_000, 59_000)
    assert [i["sale_discount_share_idr"] for i in sale["items"]] == [500, 167, 333]
    assert [i["total_share_idr"] for i in sale["items"]] == [29_500, 9_833, 19_667]


def test_a_fresh_store_totals_are_plain_sums(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=12_345)

    sale = sold(client, manager, [(coffee["id"], 3)])

    assert (sale["subtotal_idr"], sale["service_charge_idr"], sale["tax_idr"], sale["total_idr"]) == (37_035, 0, 0, 37_035)


def test_a_zero_total_sale_needs_no_payment(app, client, manager):
    configure_store(app, tax_rate_bp=1_100, service_charge_bp=500)
    sample = create_product(client, manager, "SAMPEL-1", price_idr=5_000, stock=3)

    sale = sold(client, manager, [{"product_id": sample["id"], "qty": 2, "discount_percent": 100}], payments=[])

    assert (sale["subtotal_idr"], sale["discount_idr"], sale["service_charge_idr"], sale["tax_idr"]) == (10_000, 10_000, 0, 0)
    assert (sale["total_idr"], sale["paid_idr"], sale["change_idr"]) == (0, 0, 0)
    assert sale["payments"] == []
    assert stock_of(app, sample["id"]) == 1


# --- prices and products come from the catalog --------------------------------


@pytest.mark.parametrize(
    "item_extra, sale_extra, error_path",
    [
        ({"price_idr": 1}, {}, ("items", "0", "price_idr")),
        ({"unit_price_idr": 1}, {}, ("items", "0", "unit_price_idr")),
        ({}, {"total_idr": 1}, ("total_idr",)),
        ({}, {"subtotal_idr": 1}, ("subtotal_idr",)),
    ],
)
def test_client_prices_and_totals_are_refused_as_unknown_fields(app, client, manager, item_extra, sale_extra, error_path):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=10)
    before = row_counts(app)

    response = sell(client, manager, [{"product_id": coffee["id"], "qty": 1, **item_extra}], **sale_extra)

    errors = assert_error(response, 422)["errors"]["json"]
    for part in error_path:
        errors = errors[part]
    assert errors == ["Unknown field."]
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 10


def test_the_price_is_the_catalog_price_at_the_time_of_sale(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000)
    first = sold(client, manager, [(coffee["id"], 1)])

    assert client.patch(f"/api/products/{coffee['id']}", json={"price_idr": 17_000}, headers=manager).status_code == 200
    second = sold(client, manager, [(coffee["id"], 1)])

    assert (first["total_idr"], second["total_idr"]) == (15_000, 17_000)
    assert client.get(f"/api/sales/{first['id']}", headers=manager).get_json()["items"][0]["unit_price_idr"] == 15_000


def test_an_unknown_product_is_422_at_its_line(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1")
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(coffee["id"], 1), (coffee["id"] + 999, 1)]), 422)

    assert body["errors"]["json"]["items"]["1"]["product_id"] == [f"No product with id {coffee['id'] + 999}."]
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 100


def test_an_inactive_product_is_422(app, client, manager):
    old = create_product(client, manager, "LAMA-1")
    assert client.patch(f"/api/products/{old['id']}", json={"is_active": False}, headers=manager).status_code == 200
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(old["id"], 1)]), 422)

    assert "no longer sold" in body["errors"]["json"]["items"]["0"]["product_id"][0]
    assert row_counts(app) == before
    assert stock_of(app, old["id"]) == 100


def test_not_enough_stock_is_409_naming_the_product(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", stock=2)
    bread = create_product(client, manager, "ROTI-1", stock=5)
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(bread["id"], 1), (coffee["id"], 3)]), 409)

    assert body["errors"]["stock"] == [
        {"product_id": coffee["id"], "name": "Produk KOPI-1", "requested": 3, "available": 2}
    ]
    assert "Produk KOPI-1" in body["message"]
    assert row_counts(app) == before
    assert (stock_of(app, coffee["id"]), stock_of(app, bread["id"])) == (2, 5)


# --- quantities and lines ------------------------------------------------------


@pytest.mark.parametrize("qty", [0, -1, 1.5, 2.0, "2", None, 10_001])
def test_a_quantity_that_is_not_a_positive_whole_number_is_422(app, client, manager, qty):
    coffee = create_product(client, manager, "KOPI-1")
    before = row_counts(app)

    body = assert_error(sell(client, manager, [{"product_id": coffee["id"], "qty": qty}]), 422)

    assert "qty" in body["errors"]["json"]["items"]["0"]
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 100


def test_two_hundred_lines_are_fine_and_two_hundred_and_one_are_not(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=100, stock=1_000)
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(coffee["id"], 1)] * 201), 422)
    assert "items" in body["errors"]["json"]
    assert row_counts(app) == before

    sale = sold(client, manager, [(coffee["id"], 1)] * 200)
    assert (len(sale["items"]), sale["total_idr"]) == (200, 20_000)
    assert stock_of(app, coffee["id"]) == 800


def test_a_sale_with_no_lines_is_422(app, client, manager):
    before = row_counts(app)
    assert "items" in assert_error(sell(client, manager, []), 422)["errors"]["json"]
    assert row_counts(app) == before


# --- tenders -------------------------------------------------------------------


def test_split_cash_and_card_gives_change_from_the_cash(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=37_500)

    sale = sold(client, manager, [(coffee["id"], 1)], payments=[
        {"method": "card", "amount_idr": 20_000, "reference": " APPR-778 "},
        {"method": "cash", "amount_idr": 20_000},
    ])

    assert (sale["total_idr"], sale["paid_idr"], sale["change_idr"]) == (37_500, 40_000, 2_500)
    assert sale["payments"] == [
        {"method": "card", "amount_idr": 20_000, "reference": "APPR-778"},
        {"method": "cash", "amount_idr": 20_000, "reference": None},
    ]
    with app.app_context():
        assert count_rows(SalePayment, SalePayment.sale_id == sale["id"]) == 2


@pytest.mark.parametrize(
    "payments",
    [
        [{"method": "card", "amount_idr": 40_000}],
        [{"method": "card", "amount_idr": 30_000}, {"method": "qris", "amount_idr": 10_000}],
    ],
    ids=["card", "card-and-qris"],
)
def test_non_cash_over_the_total_is_422(app, client, manager, payments):
    coffee = create_product(client, manager, "KOPI-1", price_idr=37_500)
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(coffee["id"], 1)], payments=payments), 422)

    assert "only cash gives change" in body["message"]
    assert "payments" in body["errors"]["json"]
    assert row_counts(app) == before


def test_payments_short_of_the_total_say_how_much_is_missing(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=37_500)
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(coffee["id"], 1)], payments=[
        {"method": "cash", "amount_idr": 20_000}, {"method": "card", "amount_idr": 10_000},
    ]), 422)

    assert "7500 short" in body["message"]
    assert body["errors"]["json"]["payments"] == [body["message"]]
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 100


def test_no_payment_for_a_sale_with_a_total_is_422(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=5_000)
    before = row_counts(app)
    assert "5000 short" in assert_error(sell(client, manager, [(coffee["id"], 1)], payments=[]), 422)["message"]
    assert row_counts(app) == before


# --- customers -----------------------------------------------------------------


def test_a_customer_s_totals_move_with_the_sale(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000)
    customer_id = make_customer(app)

    first = sold(client, manager, [(coffee["id"], 2)], customer_id=customer_id)
    sold(client, manager, [(coffee["id"], 1)], customer_id=customer_id)

    assert first["customer"] == {"id": customer_id, "name": "Bu Sari", "phone": "6281234567890"}
    assert customer_totals(app, customer_id) == (2, 45_000)
    assert client.get(f"/api/sales/{first['id']}", headers=manager).get_json() == first


def test_a_customer_s_totals_do_not_move_when_the_checkout_fails(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=1)
    customer_id = make_customer(app)
    before = row_counts(app)

    assert_error(sell(client, manager, [(coffee["id"], 2)], customer_id=customer_id), 409)

    assert customer_totals(app, customer_id) == (0, 0)
    assert row_counts(app) == before


def test_an_unknown_customer_is_422_and_sells_nothing(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1")
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(coffee["id"], 1)], customer_id=987_654), 422)

    assert body["errors"]["json"]["customer_id"] == ["No customer with id 987654."]
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 100


# --- a cashier's discount limit ------------------------------------------------


def test_a_cashier_s_discount_within_the_limit_needs_no_approval(app, client, manager, cashier):
    # The default limit is 10 % of the subtotal; exactly 10 % is within it.
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000)

    sale = sold(client, cashier, [(coffee["id"], 2)], discount_idr=2_000)

    assert sale["total_idr"] == 18_000
    with app.app_context():
        assert db.session.get(Sale, sale["id"]).discount_approved_by_id is None


def test_a_cashier_s_discount_above_the_limit_needs_a_supervisor_s_pin(app, client, manager, cashier,
                                                                         supervisor_with_pin):
    configure_store(app, cashier_discount_limit_bp=500)
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000, stock=10)
    items = [{"product_id": coffee["id"], "qty": 2, "discount_idr": 1_001}]  # 5.005 % of 20000
    before = row_counts(app)

    refused = assert_error(sell(client, cashier, items), 403)
    assert "approval" in refused["errors"]["json"]
    wrong = sell(client, cashier, items, approval={"username": supervisor_with_pin["username"], "pin": "9999"})
    assert_error(wrong, 403)
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 10

    approved = sold(client, cashier, items, approval={"username": supervisor_with_pin["username"], "pin": "1234"})

    assert approved["total_idr"] == 18_999
    with app.app_context():
        assert db.session.get(Sale, approved["id"]).discount_approved_by_id == supervisor_with_pin["id"]


def test_a_supervisor_gives_any_discount_without_approval(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000)
    sale = sold(client, manager, [(coffee["id"], 1)], discount_percent=50)
    assert sale["total_idr"] == 5_000


def test_another_cashier_s_pin_does_not_approve(app, client, manager, cashier, make_user):
    other = make_user("cashier")
    give_pin(app, other, "1234")
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000)
    before = row_counts(app)

    response = sell(client, cashier, [(coffee["id"], 1)], discount_percent=50,
                    approval={"username": other["username"], "pin": "1234"})

    assert_error(response, 403)
    assert row_counts(app) == before


# --- sale numbers --------------------------------------------------------------


def test_sale_numbers_count_up_per_day_and_a_failed_checkout_may_leave_a_gap(app, client, manager):
    # Numbers come from a per-day sequence that outlives the per-test clean-up,
    # so the first number of a test is not necessarily 0001.
    coffee = create_product(client, manager, "KOPI-1", stock=5)
    day = today_in_store()

    first = sold(client, manager, [(coffee["id"], 1)])
    second = sold(client, manager, [(coffee["id"], 1)])
    assert_error(sell(client, manager, [(coffee["id"], 1)], customer_id=987_654), 422)
    third = sold(client, manager, [(coffee["id"], 1)])

    parsed = [NUMBER.match(sale["number"]) for sale in (first, second, third)]
    assert all(parsed), [sale["number"] for sale in (first, second, third)]
    assert {match.group(1) for match in parsed} == {f"{day:%Y%m%d}"}
    sequence = [int(match.group(2)) for match in parsed]
    assert sequence[1] == sequence[0] + 1
    assert sequence[2] > sequence[1]


# --- Idempotency-Key -----------------------------------------------------------


def test_a_replay_with_the_same_key_and_body_returns_the_first_sale_and_creates_nothing(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", price_idr=15_000, stock=10)
    first = sell(client, manager, [(coffee["id"], 2)], key="till-1-0001")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    after_first = row_counts(app)

    replay = sell(client, manager, [(coffee["id"], 2)], key="till-1-0001")

    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    assert row_counts(app) == after_first
    assert after_first["sales"] == 1 and after_first["idempotency_keys"] == 1
    assert movements(app, "sale") == [(coffee["id"], -2, f"sale:{first.get_json()['id']}")]
    assert stock_of(app, coffee["id"]) == 8


def test_the_same_key_with_another_body_is_422_and_creates_nothing(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", stock=10)
    sold(client, manager, [(coffee["id"], 1)], key="till-1-0002")
    before = row_counts(app)

    body = assert_error(sell(client, manager, [(coffee["id"], 3)], key="till-1-0002"), 422)

    assert "Idempotency-Key" in body["errors"]["headers"]
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 9


def test_a_checkout_refused_for_stock_gives_its_key_back(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1", stock=1)
    before = row_counts(app)

    assert_error(sell(client, manager, [(coffee["id"], 3)], key="till-1-0003"), 409)
    assert row_counts(app) == before

    add_stock(client, manager, coffee["id"], 5)
    retried = sell(client, manager, [(coffee["id"], 3)], key="till-1-0003")

    assert retried.status_code == 201, retried.get_json()
    assert "Idempotent-Replayed" not in retried.headers
    assert stock_of(app, coffee["id"]) == 3
    assert row_counts(app)["sales"] == 1


def test_a_checkout_refused_as_invalid_gives_its_key_back(app, client, manager):
    coffee = create_product(client, manager, "KOPI-1")
    before = row_counts(app)

    assert_error(sell(client, manager, [{"product_id": coffee["id"], "qty": 0}], key="till-1-0004"), 422)
    assert_error(sell(client, manager, [(coffee["id"], 1)], customer_id=987_654, key="till-1-0005"), 422)

    assert row_counts(app) == before


@pytest.mark.parametrize("key", ["", "x" * 256, "kunci ü"])
def test_a_malformed_key_is_422(app, client, manager, key):
    coffee = create_product(client, manager, "KOPI-1")
    before = row_counts(app)

    response = client.post("/api/sales", json={"items": [{"product_id": coffee["id"], "qty": 1}],
                                              "payments": PLENTY_OF_CASH},
                           headers=dict(manager, **{"Idempotency-Key": key}))

    assert_error(response, 422)
    assert row_counts(app) == before


# --- bad input never changes anything -----------------------------------------


@pytest.mark.parametrize(
    "body, status",
    [
        ({}, 422),
        ({"items": None, "payments": []}, 422),
        ({"items": "KOPI-1", "payments": []}, 422),
        ({"items": [{"product_id": "PID", "qty": 1}], "payments": []}, 422),
        ({"items": [{"product_id": 0, "qty": 1}], "payments": []}, 422),
        ({"items": [{"product_id": 2**31, "qty": 1}], "payments": PLENTY_OF_CASH}, 422),
        ({"items": [{"product_id": 2**64, "qty": 1}], "payments": PLENTY_OF_CASH}, 422),
        ({"items": [{"qty": 1}], "payments": []}, 422),
        ({"items": "PRODUCT"}, 422),
        ("PRODUCT", 422),
        ({"items": "PRODUCT", "payments": [{"method": "gold", "amount_idr": 1}]}, 422),
        ({"items": "PRODUCT", "payments": [{"method": "cash", "amount_idr": 0}]}, 422),
        ({"items": "PRODUCT", "payments": [{"method": "cash", "amount_idr": -5}]}, 422),
        ({"items": "PRODUCT", "payments": [{"method": "cash", "amount_idr": 50_000.5}]}, 422),
        ({"items": "PRODUCT", "payments": [{"method": "cash", "amount_idr": "50000"}]}, 422),
        ({"items": "PRODUCT", "payments": [{"method": "cash", "amount_idr": 1}] * 11}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_idr": -1}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_idr": 10_001}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_idr": 10, "discount_percent": 1}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_percent": 100.01}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_percent": 1.125}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_percent": -1}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "discount_percent": "NaN"}, 422),
        ({"items": [{"product_id": "PRODUCT", "qty": 1, "discount_idr": 10_001}], "payments": PLENTY_OF_CASH}, 422),
        ({"items": [{"product_id": "PRODUCT", "qty": 1, "discount_percent": 101}], "payments": PLENTY_OF_CASH}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "customer_id": "1"}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "customer_id": 2**31}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "cart_id": 2**40}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "note": "x" * 256}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "approval": {"username": "boss", "pin": "12"}}, 422),
        ({"items": "PRODUCT", "payments": PLENTY_OF_CASH, "cart_id": 987_654}, 409),
        ({"items": [{"product_id": "PRODUCT", "qty": 10_000}], "payments": [{"method": "cash", "amount_idr": 10**12}] * 10}, 409),
    ],
)
def test_bad_input_is_4xx_and_changes_nothing(app, client, manager, body, status):
    coffee = create_product(client, manager, "KOPI-1", price_idr=10_000, stock=10)
    if isinstance(body, dict):
        if body.get("items") == "PRODUCT":
            body = dict(body, items=[{"product_id": coffee["id"], "qty": 1}])
        elif isinstance(body.get("items"), list):
            body = dict(body, items=[
                dict(item, product_id=coffee["id"]) if item.get("product_id") == "PRODUCT" else item
                for item in body["items"]
            ])
    before = row_counts(app)

    response = client.post("/api/sales", json=body, headers=dict(manager, **{"Idempotency-Key": "bad-input"}))

    assert_error(response, status)
    assert row_counts(app) == before
    assert stock_of(app, coffee["id"]) == 10


def test_a_body_that_is_not_json_is_4xx_and_changes_nothing(app, client, manager):
    before = row_counts(app)
    response = client.post("/api/sales", data="items=1", headers=dict(manager, **{"Content-Type": "application/json"}))
    assert 400 <= response.status_code < 500
    assert row_counts(app) == before
