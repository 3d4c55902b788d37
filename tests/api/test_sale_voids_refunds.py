"""Voids and refunds: stock comes back exactly once, money back never exceeds the sale, cashiers need a supervisor's PIN."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.inventory.models import StockMovement
from app.sales.models import Refund, RefundItem, Sale, SaleItem
from tests.api.test_checkout import (
    assert_error,
    configure_store,
    create_product,
    customer_totals,
    make_customer,
    movements,
    row_counts,
    sold,
    stock_of,
    today_in_store,
)
from tests.helpers import count_rows, give_pin


def counts(app):
    """Everything a refused void or refund must leave as it was."""
    with app.app_context():
        return dict(row_counts(app), refunds=count_rows(Refund), refund_items=count_rows(RefundItem))


def sale_row(app, sale_id):
    with app.app_context():
        sale = db.session.get(Sale, sale_id)
        return {
            "status": sale.status,
            "refunded_idr": sale.refunded_idr,
            "voided_by_id": sale.voided_by_id,
            "void_approved_by_id": sale.void_approved_by_id,
            "refunded_qty": [item.refunded_qty for item in sale.items],
        }


def void(client, headers, sale_id, reason="Salah input", **fields):
    return client.post(f"/api/sales/{sale_id}/void", json={"reason": reason, **fields}, headers=headers)


def refund(client, headers, sale_id, lines, reason="Barang rusak", **fields):
    items = [{"sale_item_id": item_id, "qty": qty} for item_id, qty in lines]
    return client.post(f"/api/sales/{sale_id}/refunds", json={"items": items, "reason": reason, **fields},
                       headers=headers)


def refunded(client, headers, sale_id, lines, **fields):
    response = refund(client, headers, sale_id, lines, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def coffee(client, manager):
    return create_product(client, manager, "KOPI-1", price_idr=15_000, stock=10)


@pytest.fixture
def bread(client, manager):
    return create_product(client, manager, "ROTI-1", price_idr=7_500, stock=10)


# --- voids ---------------------------------------------------------------------


def test_a_supervisor_voids_today_s_sale_and_its_stock_comes_back_once(app, client, manager, coffee, bread):
    customer_id = make_customer(app)
    sale = sold(client, manager, [(coffee["id"], 3), (bread["id"], 2)], customer_id=customer_id)
    assert customer_totals(app, customer_id) == (1, 60_000)

    response = void(client, manager, sale["id"], reason=" Pelanggan batal ")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["status"], body["void_reason"]) == (sale["id"], "voided", "Pelanggan batal")
    assert body["voided_at"]
    assert (stock_of(app, coffee["id"]), stock_of(app, bread["id"])) == (10, 10)
    reference = f"sale:{sale['id']}"
    assert movements(app, "void") == [(coffee["id"], 3, reference), (bread["id"], 2, reference)]
    assert customer_totals(app, customer_id) == (0, 0)
    assert client.get(f"/api/sales/{sale['id']}", headers=manager).get_json()["status"] == "voided"

    before = counts(app)
    again = void(client, manager, sale["id"])

    assert "already voided" in assert_error(again, 409)["message"]
    assert counts(app) == before
    assert movements(app, "void") == [(coffee["id"], 3, reference), (bread["id"], 2, reference)]
    assert (stock_of(app, coffee["id"]), stock_of(app, bread["id"])) == (10, 10)
    assert customer_totals(app, customer_id) == (0, 0)


@pytest.mark.parametrize("sale_id", [987_654, 2**63])
def test_voiding_an_unknown_sale_is_404(app, client, manager, sale_id):
    assert_error(void(client, manager, sale_id), 404)


def test_a_void_needs_a_reason(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 1)])
    before = counts(app)

    assert "reason" in assert_error(client.post(f"/api/sales/{sale['id']}/void", json={}, headers=manager),
                                    422)["errors"]["json"]
    assert_error(void(client, manager, sale["id"], reason="   "), 422)
    assert_error(void(client, manager, sale["id"], reason="x" * 256), 422)

    assert counts(app) == before
    assert sale_row(app, sale["id"])["status"] == "completed"


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "Batal", "approval": {"username": "boss", "pin": "12"}},
        {"reason": "Batal", "approval": {"username": "boss", "pin": "abcd"}},
        {"reason": "Batal", "approval": {"pin": "1234"}},
        {"reason": "Batal", "approval": "1234"},
        {"reason": "Batal", "restock": False},
        {"reason": 5},
        ["Batal"],
    ],
)
def test_bad_void_input_is_422_and_changes_nothing(app, client, manager, cashier, coffee, body):
    sale = sold(client, cashier, [(coffee["id"], 2)])
    before = counts(app)

    assert_error(client.post(f"/api/sales/{sale['id']}/void", json=body, headers=cashier), 422)

    assert counts(app) == before
    assert sale_row(app, sale["id"])["status"] == "completed"
    assert stock_of(app, coffee["id"]) == 8


def test_a_cashier_cannot_void_without_approval(app, client, manager, cashier, coffee):
    sale = sold(client, cashier, [(coffee["id"], 2)])
    before = counts(app)

    body = assert_error(void(client, cashier, sale["id"]), 403)

    assert "approval" in body["errors"]["json"]
    assert counts(app) == before
    assert sale_row(app, sale["id"])["status"] == "completed"
    assert stock_of(app, coffee["id"]) == 8


def test_a_cashier_voids_with_a_supervisor_s_pin(app, client, manager, cashier, cashier_user, coffee,
                                                 supervisor_with_pin):
    sale = sold(client, cashier, [(coffee["id"], 2)])

    response = void(client, cashier, sale["id"], approval={"username": supervisor_with_pin["username"], "pin": "1234"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "voided"
    row = sale_row(app, sale["id"])
    assert (row["voided_by_id"], row["void_approved_by_id"]) == (cashier_user["id"], supervisor_with_pin["id"])
    assert stock_of(app, coffee["id"]) == 10


def test_a_supervisor_s_own_void_records_no_approver(app, client, make_user, auth_headers, coffee, manager):
    supervisor = make_user("supervisor")
    sale = sold(client, manager, [(coffee["id"], 1)])

    assert void(client, auth_headers(user=supervisor), sale["id"]).status_code == 200

    row = sale_row(app, sale["id"])
    assert (row["voided_by_id"], row["void_approved_by_id"]) == (supervisor["id"], None)


def test_five_wrong_pins_lock_the_cashier_who_guessed_not_the_approver(app, client, manager, cashier, coffee,
                                                                       supervisor_with_pin, make_user, auth_headers):
    sale = sold(client, cashier, [(coffee["id"], 2)])
    before = counts(app)
    wrong = {"username": supervisor_with_pin["username"], "pin": "0000"}
    right = {"username": supervisor_with_pin["username"], "pin": "1234"}

    for _ in range(5):
        assert "approval" in assert_error(void(client, cashier, sale["id"], approval=wrong), 403)["errors"]["json"]

    # The cashier who guessed is refused, even with the right PIN or another supervisor's.
    locked = void(client, cashier, sale["id"], approval=right)
    assert "Too many wrong PINs from your account" in assert_error(locked, 429)["message"]
    other = make_user("supervisor")
    give_pin(app, other, "5678")
    assert_error(void(client, cashier, sale["id"], approval={"username": other["username"], "pin": "5678"}), 429)
    assert counts(app) == before
    assert sale_row(app, sale["id"])["status"] == "completed"
    assert stock_of(app, coffee["id"]) == 8

    # The supervisor is not locked: another cashier's void with the right PIN is approved.
    colleague_user = make_user("cashier")
    colleague = auth_headers(user=colleague_user)
    approved = void(client, colleague, sale["id"], approval=right)
    assert approved.status_code == 200, approved.get_json()
    row = sale_row(app, sale["id"])
    assert (row["status"], row["voided_by_id"], row["void_approved_by_id"]) == (
        "voided", colleague_user["id"], supervisor_with_pin["id"])
    assert stock_of(app, coffee["id"]) == 10


def test_a_right_pin_does_not_clear_the_cashier_s_wrong_ones(app, client, manager, cashier, coffee,
                                                             supervisor_with_pin, make_user):
    # Otherwise a cashier who knows one PIN could guess another approver's without end.
    admin = make_user("admin")
    give_pin(app, admin, "97531")
    sales = [sold(client, cashier, [(coffee["id"], 1)]) for _ in range(3)]

    for _ in range(4):
        assert_error(void(client, cashier, sales[0]["id"], approval={"username": admin["username"], "pin": "0000"}), 403)
    right = {"username": supervisor_with_pin["username"], "pin": "1234"}
    assert void(client, cashier, sales[0]["id"], approval=right).status_code == 200
    assert_error(void(client, cashier, sales[1]["id"], approval={"username": admin["username"], "pin": "1111"}), 403)

    assert_error(void(client, cashier, sales[2]["id"], approval=right), 429)
    assert sale_row(app, sales[2]["id"])["status"] == "completed"


@pytest.mark.parametrize("approver_role, active", [("cashier", True), ("supervisor", False)])
def test_only_an_active_supervisor_or_admin_approves(app, client, manager, cashier, coffee, make_user,
                                                     approver_role, active):
    approver = make_user(approver_role, is_active=active)
    give_pin(app, approver, "1234")
    sale = sold(client, cashier, [(coffee["id"], 1)])
    before = counts(app)

    response = void(client, cashier, sale["id"], approval={"username": approver["username"], "pin": "1234"})

    assert_error(response, 403)
    assert counts(app) == before


def test_an_admin_s_pin_approves(app, client, manager, cashier, coffee, make_user):
    admin = make_user("admin")
    give_pin(app, admin, "24680")
    sale = sold(client, cashier, [(coffee["id"], 1)])

    response = void(client, cashier, sale["id"], approval={"username": admin["username"], "pin": "24680"})

    assert response.status_code == 200, response.get_json()
    assert sale_row(app, sale["id"])["void_approved_by_id"] == admin["id"]


def test_voiding_a_sale_of_another_business_day_is_409(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 2)])
    with app.app_context():
        db.session.execute(update(Sale).where(Sale.id == sale["id"])
                           .values(business_date=today_in_store() - timedelta(days=1)))
        db.session.commit()
    before = counts(app)

    body = assert_error(void(client, manager, sale["id"]), 409)

    assert "refund" in body["message"]
    assert counts(app) == before
    assert sale_row(app, sale["id"])["status"] == "completed"
    assert stock_of(app, coffee["id"]) == 8


def test_a_partly_refunded_sale_cannot_be_voided(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 3)])
    refunded(client, manager, sale["id"], [(sale["items"][0]["id"], 1)])
    before = counts(app)

    assert_error(void(client, manager, sale["id"]), 409)

    assert counts(app) == before
    assert stock_of(app, coffee["id"]) == 8


# --- refunds -------------------------------------------------------------------


def test_refunding_all_units_in_two_steps_returns_them_once_and_a_third_refund_is_409(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 3)], payments=[{"method": "cash", "amount_idr": 45_000}])
    line_id = sale["items"][0]["id"]

    first = refunded(client, manager, sale["id"], [(line_id, 1)])
    assert (first["amount_idr"], first["restocked"], first["method"]) == (15_000, True, "cash")
    assert first["items"] == [{"sale_item_id": line_id, "product_id": coffee["id"], "qty": 1, "amount_idr": 15_000}]
    assert sale_row(app, sale["id"])["status"] == "partially_refunded"

    second = refunded(client, manager, sale["id"], [(line_id, 2)])
    assert second["amount_idr"] == 30_000

    refund_moves = movements(app, "refund")
    assert refund_moves == [(coffee["id"], 1, f"refund:{first['id']}"), (coffee["id"], 2, f"refund:{second['id']}")]
    assert sum(delta for _, delta, _ in refund_moves) == 3
    assert stock_of(app, coffee["id"]) == 10
    row = sale_row(app, sale["id"])
    assert (row["status"], row["refunded_idr"], row["refunded_qty"]) == ("refunded", 45_000, [3])

    before = counts(app)
    third = refund(client, manager, sale["id"], [(line_id, 1)])

    assert "already refunded" in assert_error(third, 409)["message"]
    assert counts(app) == before
    assert sale_row(app, sale["id"]) == row
    assert stock_of(app, coffee["id"]) == 10
    listed = client.get(f"/api/sales/{sale['id']}/refunds", headers=manager)
    assert [r["id"] for r in listed.get_json()] == [first["id"], second["id"]]


def test_refunding_more_units_than_sold_at_once_is_409(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 2)])
    line_id = sale["items"][0]["id"]
    before = counts(app)

    assert_error(refund(client, manager, sale["id"], [(line_id, 3)]), 409)
    # The same line twice in one refund counts together.
    assert_error(refund(client, manager, sale["id"], [(line_id, 1), (line_id, 2)]), 409)

    assert counts(app) == before
    assert sale_row(app, sale["id"])["refunded_qty"] == [0]


def test_a_refund_with_one_line_too_many_refunds_no_line(app, client, manager, coffee, bread):
    sale = sold(client, manager, [(coffee["id"], 2), (bread["id"], 1)])
    coffee_line, bread_line = (item["id"] for item in sale["items"])
    before = counts(app)

    assert_error(refund(client, manager, sale["id"], [(coffee_line, 1), (bread_line, 2)]), 409)

    assert counts(app) == before
    row = sale_row(app, sale["id"])
    assert (row["status"], row["refunded_idr"], row["refunded_qty"]) == ("completed", 0, [0, 0])
    assert (stock_of(app, coffee["id"]), stock_of(app, bread["id"])) == (8, 9)


def test_unit_by_unit_refunds_add_up_to_exactly_the_sale_total(app, client, manager):
    # Line A: 3 x 3333 = 9999; line B: 1 x 2. Subtotal 10001; a 1 rupiah sale discount
    # (9999/10001 vs 2/10001 -> it falls on A); net 10000; tax 11 % = 1100; total 11100.
    # Shares of 11100 over nets 9998 and 2: 11097.78 and 2.22 -> 11097 + 2 = 11099, A gets the rupiah: 11098, 2.
    # A refunded one unit at a time: 11098/3 = 3699.33 -> 3699; 2 units 7398.67 -> 7399 (3700); all 11098 (3699).
    configure_store(app, tax_rate_bp=1_100)
    a = create_product(client, manager, "A-1", price_idr=3_333)
    b = create_product(client, manager, "B-1", price_idr=2)
    customer_id = make_customer(app)
    sale = sold(client, manager, [(a["id"], 3), (b["id"], 1)], discount_idr=1, customer_id=customer_id)
    assert (sale["total_idr"], [i["total_share_idr"] for i in sale["items"]]) == (11_100, [11_098, 2])
    line_a, line_b = (item["id"] for item in sale["items"])

    amounts = [refunded(client, manager, sale["id"], [(line_a, 1)])["amount_idr"] for _ in range(3)]
    amounts.append(refunded(client, manager, sale["id"], [(line_b, 1)])["amount_idr"])

    assert amounts == [3_699, 3_700, 3_699, 2]
    assert sum(amounts) == sale["total_idr"]
    row = sale_row(app, sale["id"])
    assert (row["status"], row["refunded_idr"]) == ("refunded", 11_100)
    assert customer_totals(app, customer_id) == (1, 0)


def test_three_units_sharing_ten_thousand_refund_to_exactly_ten_thousand(app, client, manager):
    # 3 x 3334 = 10002 less 2 = 10000. One unit: 3333.33 -> 3333; two: 6666.67 -> 6667 (3334); three: 10000 (3333).
    odd = create_product(client, manager, "ODD-1", price_idr=3_334)
    sale = sold(client, manager, [(odd["id"], 3)], discount_idr=2)
    line_id = sale["items"][0]["id"]

    amounts = [refunded(client, manager, sale["id"], [(line_id, 1)])["amount_idr"] for _ in range(3)]

    assert amounts == [3_333, 3_334, 3_333]
    assert sale_row(app, sale["id"])["refunded_idr"] == sale["total_idr"] == 10_000


def test_a_refund_without_restock_moves_no_stock(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 2)])

    body = refunded(client, manager, sale["id"], [(sale["items"][0]["id"], 1)], restock=False, method="qris")

    assert (body["restocked"], body["method"], body["amount_idr"]) == (False, "qris", 15_000)
    assert movements(app, "refund") == []
    assert stock_of(app, coffee["id"]) == 8


def test_refunding_a_voided_sale_is_409(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 2)])
    assert void(client, manager, sale["id"]).status_code == 200
    before = counts(app)

    assert "voided" in assert_error(refund(client, manager, sale["id"], [(sale["items"][0]["id"], 1)]), 409)["message"]

    assert counts(app) == before
    assert stock_of(app, coffee["id"]) == 10


def test_a_line_of_another_sale_is_422(app, client, manager, coffee):
    first = sold(client, manager, [(coffee["id"], 1)])
    second = sold(client, manager, [(coffee["id"], 1)])
    before = counts(app)

    body = assert_error(refund(client, manager, first["id"], [(second["items"][0]["id"], 1)]), 422)

    assert "sale_item_id" in body["errors"]["json"]["items"]["0"]
    assert counts(app) == before


@pytest.mark.parametrize("sale_id", [987_654, 2**63])
def test_refunding_an_unknown_sale_is_404(app, client, manager, sale_id):
    assert_error(refund(client, manager, sale_id, [(1, 1)]), 404)


def test_a_cashier_refund_needs_a_supervisor_s_pin(app, client, manager, cashier, coffee, supervisor_with_pin):
    sale = sold(client, cashier, [(coffee["id"], 2)])
    line_id = sale["items"][0]["id"]
    before = counts(app)

    assert_error(refund(client, cashier, sale["id"], [(line_id, 1)]), 403)
    wrong = {"username": supervisor_with_pin["username"], "pin": "4321"}
    assert_error(refund(client, cashier, sale["id"], [(line_id, 1)], approval=wrong), 403)
    assert counts(app) == before

    body = refunded(client, cashier, sale["id"], [(line_id, 1)],
                    approval={"username": supervisor_with_pin["username"], "pin": "1234"})

    assert body["approved_by_id"] == supervisor_with_pin["id"]
    assert stock_of(app, coffee["id"]) == 9


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": [], "reason": "Rusak"},
        {"items": "LINE", "reason": ""},
        {"items": "LINE"},
        {"items": [{"sale_item_id": "LINE", "qty": 0}], "reason": "Rusak"},
        {"items": [{"sale_item_id": "LINE", "qty": -1}], "reason": "Rusak"},
        {"items": [{"sale_item_id": "LINE", "qty": 1.5}], "reason": "Rusak"},
        {"items": [{"sale_item_id": "LINE", "qty": 1, "amount_idr": 1}], "reason": "Rusak"},
        {"items": [{"sale_item_id": "1", "qty": 1}], "reason": "Rusak"},
        {"items": [{"sale_item_id": 2**31, "qty": 1}], "reason": "Rusak"},
        {"items": [{"sale_item_id": 2**63, "qty": 1}], "reason": "Rusak"},
        {"items": "LINE", "reason": "Rusak", "method": "gold"},
        {"items": "LINE", "reason": "Rusak", "restock": "maybe"},
        {"items": "LINE", "reason": "Rusak", "amount_idr": 1},
    ],
)
def test_bad_refund_input_is_422_and_changes_nothing(app, client, manager, coffee, body):
    sale = sold(client, manager, [(coffee["id"], 2)])
    line_id = sale["items"][0]["id"]
    if body.get("items") == "LINE":
        body = dict(body, items=[{"sale_item_id": line_id, "qty": 1}])
    elif body.get("items"):
        body = dict(body, items=[dict(i, sale_item_id=line_id) if i["sale_item_id"] == "LINE" else i
                                 for i in body["items"]])
    before = counts(app)

    assert_error(client.post(f"/api/sales/{sale['id']}/refunds", json=body, headers=manager), 422)

    assert counts(app) == before
    assert sale_row(app, sale["id"])["refunded_qty"] == [0]
    assert stock_of(app, coffee["id"]) == 8


def test_a_refund_of_a_sale_from_an_earlier_day_is_allowed(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 2)])
    with app.app_context():
        db.session.execute(update(Sale).where(Sale.id == sale["id"])
                           .values(business_date=today_in_store() - timedelta(days=3)))
        db.session.commit()

    body = refunded(client, manager, sale["id"], [(sale["items"][0]["id"], 2)])

    assert body["amount_idr"] == 30_000
    assert stock_of(app, coffee["id"]) == 10


def test_void_and_refund_leave_the_sale_lines_as_sold(app, client, manager, coffee):
    sale = sold(client, manager, [(coffee["id"], 2)])
    refunded(client, manager, sale["id"], [(sale["items"][0]["id"], 1)])

    with app.app_context():
        item = db.session.scalars(select(SaleItem).where(SaleItem.sale_id == sale["id"])).one()
        assert (item.qty, item.refunded_qty, item.refunded_idr, item.total_share_idr) == (2, 1, 15_000, 30_000)
        assert count_rows(StockMovement, StockMovement.reason == "sale") == 1
