"""GET /api/reports/sales, /best-sellers and /low-stock, as an owner reads them.

Every expected figure is worked out by hand below from the sales and orders
the test makes (the shop charges 10 % service and 10 % tax on top, so a line
of Rp 10.000 costs the customer Rp 12.100). The days sit around a week and a
month boundary in Asia/Jakarta:

    Sun 2025-03-30  23:59  sale A   (supervisor) 2 KOPI + 1 ROTI, Rp 5.000 off, cash 60.000
    Mon 2025-03-31  00:01  sale B   (cashier)    1 KOPI + 4 TEH, card 20.000 + cash 30.000
                    00:30  order O1 paid by QRIS  1 KOPI + 1 TEH      (2025-03-30 17:30 UTC)
                    12:00  sale V   (cashier)    3 ROTI, voided: counts nowhere
    Tue 2025-04-01  06:00  order O2 paid by GoPay 2 ROTI              (2025-03-31 23:00 UTC)
                    10:00  refund of 1 KOPI of sale A, in cash
                    15:00  O2 cancelled, the customer refunded by hand
    outside:  order O4 paid Sat 2025-03-29 23:59; sale Y on Wed 2025-04-02 00:00:30 (still 04-01 in UTC);
              order O3 never paid.
"""

from datetime import date, timedelta

import pytest

from app.reports.models import SummaryDay
from tests.helpers import count_rows
from tests.reports_support import (
    cancel_paid_order,
    create_category,
    create_product,
    figures,
    get_json,
    move_refund,
    move_sale,
    now_in_store,
    pay_order,
    place_order,
    refund,
    sell,
    set_tax_and_service,
    void,
    wib,
)

FIRST, LAST = date(2025, 3, 30), date(2025, 4, 1)
RANGE = {"date_from": "2025-03-30", "date_to": "2025-04-01"}

# Sale A: 50.000 - 5.000 = 45.000; service 4.500; tax 10 % of 49.500 = 4.950; total 54.450.
# Its lines keep 36.000 and 9.000 of the 45.000, so their shares of the total are 43.560 and 10.890.
DAY_30 = {"pos": figures(1, 3, 50_000, 5_000, 4_500, 4_950, 54_450, 0, 54_450), "online": figures(),
          "all": figures(1, 3, 50_000, 5_000, 4_500, 4_950, 54_450, 0, 54_450)}
# Sale B: 40.000 + 4.000 + 4.400 = 48.400 (V is voided). O1: 25.000 + 2.500 + 2.750 = 30.250.
DAY_31 = {"pos": figures(1, 5, 40_000, 0, 4_000, 4_400, 48_400, 0, 48_400),
          "online": figures(1, 2, 25_000, 0, 2_500, 2_750, 30_250, 0, 30_250),
          "all": figures(2, 7, 65_000, 0, 6_500, 7_150, 78_650, 0, 39_325)}
# Refund of 1 of sale A's 2 KOPI: half of 43.560 = 21.780. O2: 20.000 + 2.000 + 2.200 = 24.200, refunded whole.
DAY_01 = {"pos": figures(refunds_idr=21_780),
          "online": figures(1, 2, 20_000, 0, 2_000, 2_200, 24_200, 24_200, 24_200),
          "all": figures(1, 2, 20_000, 0, 2_000, 2_200, 24_200, 45_980, 24_200)}
TOTALS = {"pos": figures(2, 8, 90_000, 5_000, 8_500, 9_350, 102_850, 21_780, 51_425),
          "online": figures(2, 4, 45_000, 0, 4_500, 4_950, 54_450, 24_200, 27_225),
          "all": figures(4, 12, 135_000, 5_000, 13_000, 14_300, 157_300, 45_980, 39_325)}
# Cash: A 60.000 - 5.550 change; B 30.000 - 1.600 change; less the 21.780 refund = 61.070.
TENDERS = [{"method": "card", "amount_idr": 20_000, "payments_count": 1},
           {"method": "cash", "amount_idr": 61_070, "payments_count": 2},
           {"method": "online_gopay", "amount_idr": 0, "payments_count": 1},
           {"method": "online_qris", "amount_idr": 30_250, "payments_count": 1}]
# Net of refunds; revenue is each line's share of its sale's or order's total (with service and tax):
# KOPI 43.560 (A) + 24.200 (B) + 24.200 (O1) - 21.780 (refund); TEH 24.200 (B) + 6.050 (O1);
# ROTI 10.890 (A) + 24.200 - 24.200 (O2 sold and cancelled).
KOPI, TEH, ROTI = ("KOPI", 3, 70_180), ("TEH", 5, 30_250), ("ROTI", 1, 10_890)


def _period(name, start, end, pos, online, all_):
    return {"period": name, "start": start, "end": end, "pos": pos, "online": online, "all": all_}


@pytest.fixture
def shop(app, client, make_user, auth_headers):
    supervisor, cashier = make_user("supervisor", full_name="Bu Rina"), make_user("cashier", full_name="Andi")
    set_tax_and_service(app, tax_rate_bp=1000, service_charge_bp=1000)
    manager = auth_headers(user=supervisor)
    drinks, food = create_category(client, manager, "Minuman"), create_category(client, manager, "Makanan")
    return {
        "app": app, "client": client, "manager": manager, "cashier": auth_headers(user=cashier),
        "supervisor": supervisor, "cashier_user": cashier, "drinks": drinks, "food": food,
        "KOPI": create_product(client, manager, "KOPI", 20_000, category_id=drinks),
        "ROTI": create_product(client, manager, "ROTI", 10_000, category_id=food),
        "TEH": create_product(client, manager, "TEH", 5_000, category_id=drinks),
    }


def make_three_days(shop):
    app, client, manager, cashier = shop["app"], shop["client"], shop["manager"], shop["cashier"]
    kopi, roti, teh = shop["KOPI"], shop["ROTI"], shop["TEH"]

    sale_a = sell(client, manager, [(kopi, 2), (roti, 1)], [{"method": "cash", "amount_idr": 60_000}], discount_idr=5_000)
    assert (sale_a["total_idr"], sale_a["change_idr"]) == (54_450, 5_550)
    move_sale(app, sale_a["id"], wib(2025, 3, 30, 23, 59))
    sale_b = sell(client, cashier, [(kopi, 1), (teh, 4)],
                  [{"method": "card", "amount_idr": 20_000}, {"method": "cash", "amount_idr": 30_000}])
    assert (sale_b["total_idr"], sale_b["change_idr"]) == (48_400, 1_600)
    move_sale(app, sale_b["id"], wib(2025, 3, 31, 0, 1))
    sale_v = sell(client, cashier, [(roti, 3)], [{"method": "cash", "amount_idr": 36_300}])
    void(client, manager, sale_v["id"])
    move_sale(app, sale_v["id"], wib(2025, 3, 31, 12, 0))
    sale_y = sell(client, manager, [(teh, 1)], [{"method": "qris", "amount_idr": 6_050}])
    move_sale(app, sale_y["id"], wib(2025, 4, 2, 0, 0, 30))
    money_back = refund(client, manager, sale_a, kopi, 1)
    assert money_back["amount_idr"] == 21_780
    move_refund(app, money_back["id"], wib(2025, 4, 1, 10, 0))

    order_1 = place_order(client, [(kopi, 1), (teh, 1)])
    pay_order(app, order_1["id"], "qris", at=wib(2025, 3, 31, 0, 30))
    order_2 = place_order(client, [(roti, 2)])
    pay_order(app, order_2["id"], "gopay", at=wib(2025, 4, 1, 6, 0))
    cancel_paid_order(client, manager, app, order_2["id"], at=wib(2025, 4, 1, 15, 0))
    place_order(client, [(teh, 2)])
    order_4 = place_order(client, [(kopi, 1)])
    pay_order(app, order_4["id"], "qris", at=wib(2025, 3, 29, 23, 59))
    return {"sale_a": sale_a, "sale_b": sale_b}


def sales_report(shop, **params):
    return get_json(shop["client"], shop["manager"], "/api/reports/sales", **params)


def best_sellers(shop, **params):
    return get_json(shop["client"], shop["manager"], "/api/reports/best-sellers", **params)


def seller(shop, sku, qty, revenue, category):
    return {"product_id": shop[sku], "sku": sku, "name": f"Produk {sku}", "category_id": shop[category],
            "category_name": {"drinks": "Minuman", "food": "Makanan"}[category], "qty": qty, "revenue_idr": revenue}


def test_the_sales_report_counts_every_figure_on_its_day_in_jakarta(shop):
    make_three_days(shop)

    report = sales_report(shop, **RANGE)

    assert (report["date_from"], report["date_to"]) == ("2025-03-30", "2025-04-01")
    assert (report["group_by"], report["timezone"]) == ("day", "Asia/Jakarta")
    assert report["totals"] == TOTALS
    assert report["periods"] == [
        _period("2025-03-30", "2025-03-30", "2025-03-30", **_channels(DAY_30)),
        _period("2025-03-31", "2025-03-31", "2025-03-31", **_channels(DAY_31)),
        _period("2025-04-01", "2025-04-01", "2025-04-01", **_channels(DAY_01)),
    ]
    assert report["tenders"] == TENDERS
    assert report["cashiers"] == [
        {"cashier_id": shop["supervisor"]["id"], "username": shop["supervisor"]["username"], "full_name": "Bu Rina",
         "sales_count": 1, "net_idr": 54_450},
        {"cashier_id": shop["cashier_user"]["id"], "username": shop["cashier_user"]["username"], "full_name": "Andi",
         "sales_count": 1, "net_idr": 48_400},
    ]


def _channels(day):
    return {"pos": day["pos"], "online": day["online"], "all_": day["all"]}


def test_one_minute_either_side_of_midnight_lands_on_different_days(shop):
    make_three_days(shop)

    sunday = sales_report(shop, date_from="2025-03-30", date_to="2025-03-30")
    monday = sales_report(shop, date_from="2025-03-31", date_to="2025-03-31")
    saturday = sales_report(shop, date_from="2025-03-29", date_to="2025-03-29")
    wednesday = sales_report(shop, date_from="2025-04-02", date_to="2025-04-02")

    # 23:59 on Sunday stays on Sunday; 00:01 and the 00:30 order (still Sunday in UTC) are Monday's.
    assert sunday["totals"] == DAY_30
    assert monday["totals"] == DAY_31
    # O4, paid at 23:59 on Saturday; sale Y at 00:00:30 on Wednesday (Tuesday in UTC): 1 TEH paid by QRIS.
    assert saturday["totals"]["online"] == figures(1, 1, 20_000, 0, 2_000, 2_200, 24_200, 0, 24_200)
    assert saturday["totals"]["pos"] == figures()
    assert wednesday["totals"]["pos"] == figures(1, 1, 5_000, 0, 500, 550, 6_050, 0, 6_050)
    assert wednesday["tenders"] == [{"method": "qris", "amount_idr": 6_050, "payments_count": 1}]


def test_weeks_run_monday_to_sunday_and_months_by_the_calendar_within_the_range(shop):
    make_three_days(shop)
    week_14 = {"pos": figures(1, 5, 40_000, 0, 4_000, 4_400, 48_400, 21_780, 48_400),
               "online": figures(2, 4, 45_000, 0, 4_500, 4_950, 54_450, 24_200, 27_225),
               "all": figures(3, 9, 85_000, 0, 8_500, 9_350, 102_850, 45_980, 34_283)}  # 102.850 / 3
    march = {"pos": figures(2, 8, 90_000, 5_000, 8_500, 9_350, 102_850, 0, 51_425),
             "online": figures(1, 2, 25_000, 0, 2_500, 2_750, 30_250, 0, 30_250),
             "all": figures(3, 10, 115_000, 5_000, 11_000, 12_100, 133_100, 0, 44_367)}  # 133.100 / 3, rounded

    weekly = sales_report(shop, group_by="week", **RANGE)
    monthly = sales_report(shop, group_by="month", **RANGE)

    # A period shows the part of it the report covers: Sunday is all of week 13 the range holds.
    assert weekly["periods"] == [
        _period("2025-W13", "2025-03-30", "2025-03-30", **_channels(DAY_30)),
        _period("2025-W14", "2025-03-31", "2025-04-01", **_channels(week_14)),
    ]
    assert monthly["periods"] == [
        _period("2025-03", "2025-03-30", "2025-03-31", **_channels(march)),
        _period("2025-04", "2025-04-01", "2025-04-01", **_channels(DAY_01)),
    ]
    assert weekly["totals"] == monthly["totals"] == TOTALS
    assert weekly["tenders"] == monthly["tenders"] == TENDERS


def test_a_report_reads_the_same_whether_its_days_are_built_or_not(shop):
    make_three_days(shop)
    app = shop["app"]
    asked = [("/api/reports/sales", dict(RANGE, group_by=group)) for group in ("day", "week", "month")] + [
        ("/api/reports/best-sellers", dict(RANGE, by=by)) for by in ("qty", "revenue")]

    def read_all():
        return [get_json(shop["client"], shop["manager"], path, **params) for path, params in asked]

    live = read_all()
    result = app.test_cli_runner().invoke(args=["reports", "rebuild", "--from", "2025-03-31", "--to", "2025-03-31"])
    assert result.exit_code == 0, result.output
    half_built = read_all()
    result = app.test_cli_runner().invoke(args=["reports", "rebuild", "--from", "2025-03-28", "--to", "2025-04-02"])
    assert result.exit_code == 0, result.output
    built = read_all()

    with app.app_context():
        assert count_rows(SummaryDay) == 6
    assert live[0]["totals"] == TOTALS
    assert half_built == live
    assert built == live


def test_closed_days_come_from_their_summary_and_today_is_live(shop):
    """Once a day is built the report reads its summary; today is always counted from the sales themselves."""
    app, client, manager = shop["app"], shop["client"], shop["manager"]
    today = now_in_store().date()
    five_days_ago = today - timedelta(days=5)
    old = sell(client, manager, [(shop["TEH"], 2)], [{"method": "cash", "amount_idr": 12_100}])
    move_sale(app, old["id"], wib(five_days_ago.year, five_days_ago.month, five_days_ago.day, 12, 0))
    result = app.test_cli_runner().invoke(
        args=["reports", "rebuild", "--from", five_days_ago.isoformat(), "--to", five_days_ago.isoformat()])
    assert result.exit_code == 0, result.output
    # A sale slipped into the built day afterwards (as if written straight to the database) is not in its summary.
    late = sell(client, manager, [(shop["TEH"], 1)], [{"method": "cash", "amount_idr": 6_050}])
    move_sale(app, late["id"], wib(five_days_ago.year, five_days_ago.month, five_days_ago.day, 13, 0))
    sell(client, manager, [(shop["KOPI"], 1)], [{"method": "card", "amount_idr": 24_200}])

    report = sales_report(shop, date_from=five_days_ago.isoformat(), date_to=today.isoformat())

    days = {period["period"]: period["all"] for period in report["periods"]}
    assert list(days) == [(five_days_ago + timedelta(days=n)).isoformat() for n in range(6)]
    assert days[five_days_ago.isoformat()] == figures(1, 2, 10_000, 0, 1_000, 1_100, 12_100, 0, 12_100)
    assert days[today.isoformat()] == figures(1, 1, 20_000, 0, 2_000, 2_200, 24_200, 0, 24_200)
    assert all(figures_ == figures() for day, figures_ in days.items()
               if day not in (five_days_ago.isoformat(), today.isoformat()))
    assert report["totals"]["all"] == figures(2, 3, 30_000, 0, 3_000, 3_300, 36_300, 0, 18_150)
    assert report["tenders"] == [{"method": "card", "amount_idr": 24_200, "payments_count": 1},
                                 {"method": "cash", "amount_idr": 12_100, "payments_count": 1}]


# --- best sellers -------------------------------------------------------------------------------


def test_best_sellers_by_units_and_by_revenue_net_of_refunds_and_voids(shop):
    make_three_days(shop)
    kopi, teh, roti = (seller(shop, *KOPI, "drinks"), seller(shop, *TEH, "drinks"), seller(shop, *ROTI, "food"))

    assert best_sellers(shop, **RANGE) == [teh, kopi, roti]
    assert best_sellers(shop, by="qty", **RANGE) == [teh, kopi, roti]
    assert best_sellers(shop, by="revenue", **RANGE) == [kopi, teh, roti]
    assert best_sellers(shop, by="revenue", limit=1, **RANGE) == [kopi]
    assert best_sellers(shop, category_id=shop["food"], **RANGE) == [roti]
    assert best_sellers(shop, category_id=shop["drinks"], by="revenue", **RANGE) == [kopi, teh]


def test_best_sellers_of_other_ranges(shop):
    make_three_days(shop)

    sunday = best_sellers(shop, date_from="2025-03-30", date_to="2025-03-30")
    tuesday = best_sellers(shop, date_from="2025-04-01", date_to="2025-04-01")
    saturday = best_sellers(shop, date_from="2025-03-29", date_to="2025-03-29")

    assert sunday == [seller(shop, "KOPI", 2, 43_560, "drinks"), seller(shop, "ROTI", 1, 10_890, "food")]
    # Tuesday: 1 KOPI refunded; O2's 2 ROTI sold and given back the same day (nothing left, so not listed).
    assert tuesday == [seller(shop, "KOPI", -1, -21_780, "drinks")]
    assert saturday == [seller(shop, "KOPI", 1, 24_200, "drinks")]
    assert best_sellers(shop, date_from="2025-03-01", date_to="2025-03-28") == []


# --- low stock ------------------------------------------------------------------------------------


def test_low_stock_lists_active_products_at_or_under_their_threshold_fewest_first(app, client, auth_headers):
    manager = auth_headers("supervisor")
    few = create_product(client, manager, "GULA", 15_000, stock=2, low_stock_threshold=5)
    also_few = create_product(client, manager, "AREN", 18_000, stock=2, low_stock_threshold=3)
    at_threshold = create_product(client, manager, "SUSU", 12_000, stock=5, low_stock_threshold=5)
    create_product(client, manager, "MADU", 50_000, stock=6, low_stock_threshold=5)
    gone = create_product(client, manager, "SIRUP", 30_000, stock=0, low_stock_threshold=5)
    response = client.patch(f"/api/products/{gone}", json={"is_active": False}, headers=manager)
    assert response.status_code == 200, response.get_json()

    response = client.get("/api/reports/low-stock", headers=manager)

    assert response.status_code == 200
    rows = response.get_json()
    assert [(row["id"], row["sku"], row["stock"], row["low_stock_threshold"]) for row in rows] == [
        (also_few, "AREN", 2, 3), (few, "GULA", 2, 5), (at_threshold, "SUSU", 5, 5)]
    assert all(row["is_low_stock"] for row in rows)


# --- who may read, and what is asked --------------------------------------------------------------

REPORT_GETS = ["/api/reports/sales", "/api/reports/best-sellers", "/api/reports/low-stock", "/api/dashboard",
               "/api/reports/exports/1", "/api/reports/exports/1/download"]


@pytest.mark.parametrize("path", REPORT_GETS)
def test_a_cashier_may_not_read_reports(client, auth_headers, path):
    response = client.get(path, query_string=RANGE, headers=auth_headers("cashier"))
    assert response.status_code == 403, response.get_json()


@pytest.mark.parametrize("path", REPORT_GETS)
def test_reports_need_a_token(client, path):
    assert client.get(path, query_string=RANGE).status_code == 401


def test_a_cashier_may_not_ask_for_an_export_and_nobody_may_without_a_token(app, client, auth_headers):
    body = {"report": "sales_detail", "format": "csv", **RANGE}
    assert client.post("/api/reports/exports", json=body, headers=auth_headers("cashier")).status_code == 403
    assert client.post("/api/reports/exports", json=body).status_code == 401
    from app.reports.models import ReportExport

    with app.app_context():
        assert count_rows(ReportExport) == 0


@pytest.mark.parametrize("role", ["admin", "supervisor"])
def test_owners_and_supervisors_read_reports(client, auth_headers, role):
    headers = auth_headers(role)
    for path in REPORT_GETS[:4]:
        assert client.get(path, query_string=RANGE, headers=headers).status_code == 200, path


BAD_RANGES = [
    ({"date_from": "2025-04-02", "date_to": "2025-04-01"}, "date_from"),
    ({"date_from": "2024-01-01", "date_to": "2025-01-01"}, "date_to"),  # 367 days (2024 is a leap year)
    ({"date_to": "2025-04-01"}, "date_from"),
    ({"date_from": "2025-04-01"}, "date_to"),
    ({}, "date_from"),
    ({"date_from": "1 April", "date_to": "2025-04-01"}, "date_from"),
]


@pytest.mark.parametrize("path", ["/api/reports/sales", "/api/reports/best-sellers"])
@pytest.mark.parametrize(("params", "field"), BAD_RANGES)
def test_a_bad_range_is_refused(client, auth_headers, path, params, field):
    response = client.get(path, query_string=params, headers=auth_headers("admin"))

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["query"]


def test_366_days_is_the_longest_range(client, auth_headers):
    headers = auth_headers("admin")
    response = client.get("/api/reports/sales", query_string={"date_from": "2024-01-01", "date_to": "2024-12-31",
                                                              "group_by": "month"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert [period["period"] for period in response.get_json()["periods"]] == [f"2024-{m:02d}" for m in range(1, 13)]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/reports/sales", {"group_by": "year"}, "group_by"),
    ("/api/reports/sales", {"group_by": ""}, "group_by"),
    ("/api/reports/best-sellers", {"by": "profit"}, "by"),
    ("/api/reports/best-sellers", {"limit": 0}, "limit"),
    ("/api/reports/best-sellers", {"limit": 501}, "limit"),
    ("/api/reports/best-sellers", {"category_id": "minuman"}, "category_id"),
])
def test_unknown_grouping_and_options_are_refused(client, auth_headers, path, params, field):
    response = client.get(path, query_string=dict(RANGE, **params), headers=auth_headers("admin"))

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["query"]
