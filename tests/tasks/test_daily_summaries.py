"""The nightly summaries: `reports.build_recent_days` on a real worker, `flask reports rebuild`, rebuilding a day.

A day's summary is what that day sold, written once the day is over. Run
again, the task or the command must leave exactly the same rows (only the
rebuilt day's `built_at` moves on). Expected rows are worked out by hand:
the shop charges 10 % service and 10 % tax on top, so Rp 10.000 of goods
costs Rp 12.100.
"""

from datetime import timedelta

import pytest

from app.reports.summaries import build_day
from app.stores.services import current_store_id
from tests.reports_support import (
    create_product,
    move_refund,
    move_sale,
    now_in_store,
    pay_order,
    place_order,
    refund,
    sell,
    set_tax_and_service,
    summary_rows,
    void,
    wib,
)

ZERO = {"sales_count": 0, "items_sold": 0, "gross_idr": 0, "discount_idr": 0, "service_charge_idr": 0, "tax_idr": 0,
        "net_idr": 0, "refunds_idr": 0}


def at(day, hour, minute=0):
    return wib(day.year, day.month, day.day, hour, minute)


@pytest.fixture
def shop(app, client, make_user, auth_headers):
    supervisor, cashier = make_user("supervisor"), make_user("cashier")
    set_tax_and_service(app, tax_rate_bp=1000, service_charge_bp=1000)
    manager = auth_headers(user=supervisor)
    with app.app_context():
        store_id = current_store_id()
    return {
        "app": app, "client": client, "manager": manager, "cashier": auth_headers(user=cashier),
        "supervisor_id": supervisor["id"], "cashier_id": cashier["id"], "store_id": store_id,
        "today": now_in_store().date(),
        "KOPI": create_product(client, manager, "KOPI", 20_000),
        "TEH": create_product(client, manager, "TEH", 5_000),
    }


def make_last_week(shop):
    """Yesterday and three days ago have sales; eight days ago (outside the task's week) too."""
    app, client, manager, cashier = shop["app"], shop["client"], shop["manager"], shop["cashier"]
    kopi, teh, today = shop["KOPI"], shop["TEH"], shop["today"]
    yesterday, three_days_ago, eight_days_ago = (today - timedelta(days=n) for n in (1, 3, 8))

    first = sell(client, manager, [(kopi, 1)], [{"method": "cash", "amount_idr": 30_000}])  # 24.200, change 5.800
    move_sale(app, first["id"], at(yesterday, 8))
    second = sell(client, cashier, [(teh, 2)], [{"method": "qris", "amount_idr": 12_100}])
    move_sale(app, second["id"], at(yesterday, 23, 59))
    order = place_order(client, [(teh, 1)])  # 6.050
    pay_order(app, order["id"], "gopay", at=at(yesterday, 0, 1))
    money_back = refund(client, manager, first, kopi, 1, method="transfer")  # 24.200
    move_refund(app, money_back["id"], at(yesterday, 20))

    third = sell(client, cashier, [(kopi, 1), (teh, 1)], [{"method": "card", "amount_idr": 30_250}])
    move_sale(app, third["id"], at(three_days_ago, 12))
    voided = sell(client, cashier, [(kopi, 1)], [{"method": "cash", "amount_idr": 24_200}])
    void(client, manager, voided["id"])
    move_sale(app, voided["id"], at(three_days_ago, 13))

    old = sell(client, manager, [(teh, 1)], [{"method": "cash", "amount_idr": 6_050}])
    move_sale(app, old["id"], at(eight_days_ago, 9))
    return yesterday, three_days_ago


def expected_rows(shop, yesterday, three_days_ago):
    """Every summary row the week must have, worked out by hand."""
    store, days = shop["store_id"], [shop["today"] - timedelta(days=n) for n in range(7, 0, -1)]
    busy = {
        yesterday: {
            "pos": dict(ZERO, sales_count=2, items_sold=3, gross_idr=30_000, service_charge_idr=3_000, tax_idr=3_300,
                        net_idr=36_300, refunds_idr=24_200),
            "online": dict(ZERO, sales_count=1, items_sold=1, gross_idr=5_000, service_charge_idr=500, tax_idr=550,
                           net_idr=6_050),
        },
        three_days_ago: {
            "pos": dict(ZERO, sales_count=1, items_sold=2, gross_idr=25_000, service_charge_idr=2_500, tax_idr=2_750,
                        net_idr=30_250),
            "online": ZERO,
        },
    }
    tender = {
        three_days_ago: [("card", 30_250, 1)],
        # Cash 30.000 less 5.800 change; the refund went back by transfer.
        yesterday: [("cash", 24_200, 1), ("online_gopay", 6_050, 1), ("qris", 12_100, 1), ("transfer", -24_200, 0)],
    }
    cashier = {three_days_ago: [(shop["cashier_id"], 1, 30_250)],
               yesterday: sorted([(shop["supervisor_id"], 1, 24_200), (shop["cashier_id"], 1, 12_100)])}
    # Yesterday's KOPI was sold and refunded: nothing left, so no row.
    product = {three_days_ago: sorted([(shop["KOPI"], 1, 24_200), (shop["TEH"], 1, 6_050)]),
               yesterday: [(shop["TEH"], 3, 18_150)]}
    key = {"store_id": store}
    return {
        "daily_sales": [dict(key, business_date=day, channel=channel, **busy.get(day, {}).get(channel, ZERO))
                        for day in days for channel in ("online", "pos")],
        "daily_tenders": [dict(key, business_date=day, method=m, amount_idr=a, payments_count=c)
                          for day in days for m, a, c in tender.get(day, [])],
        "daily_cashiers": [dict(key, business_date=day, cashier_id=u, sales_count=c, net_idr=n)
                           for day in days for u, c, n in cashier.get(day, [])],
        "daily_products": [dict(key, business_date=day, product_id=p, qty=q, revenue_idr=r)
                           for day in days for p, q, r in product.get(day, [])],
        "summary_days": [dict(key, business_date=day) for day in days],
    }


def without_built_at(rows):
    return {table: [{k: v for k, v in row.items() if k != "built_at"} for row in table_rows]
            for table, table_rows in rows.items()}


def built_at(rows):
    return {row["business_date"]: row["built_at"] for row in rows["summary_days"]}


def test_the_nightly_task_builds_the_last_week_and_a_second_run_leaves_the_same_rows(shop, celery_worker):
    from tasks.reports import build_recent_days

    yesterday, three_days_ago = make_last_week(shop)
    week = [(shop["today"] - timedelta(days=n)).isoformat() for n in range(7, 0, -1)]

    assert build_recent_days.delay().get(timeout=60) == week
    first = summary_rows(shop["app"])
    assert without_built_at(first) == expected_rows(shop, yesterday, three_days_ago)

    # The second night (or a retry) rebuilds yesterday only, to the same rows.
    assert build_recent_days.delay().get(timeout=60) == [yesterday.isoformat()]
    second = summary_rows(shop["app"])
    assert without_built_at(second) == without_built_at(first)
    moved = {day for day, when in built_at(second).items() if when != built_at(first)[day]}
    assert moved <= {yesterday}
    assert built_at(second)[yesterday] >= built_at(first)[yesterday]


def test_building_every_day_twice_gives_the_same_rows(shop):
    yesterday, three_days_ago = make_last_week(shop)
    app, days = shop["app"], [shop["today"] - timedelta(days=n) for n in range(7, 0, -1)]

    def build_week():
        with app.app_context():
            for day in days:
                build_day(shop["store_id"], day)
        return summary_rows(app)

    first, second = build_week(), build_week()

    assert without_built_at(first) == expected_rows(shop, yesterday, three_days_ago)
    assert without_built_at(second) == without_built_at(first)


def test_a_rebuild_replaces_the_day_whole(shop):
    """A day rebuilt after a late correction loses rows that no longer apply (no stale products or tenders)."""
    app, client, manager = shop["app"], shop["client"], shop["manager"]
    day = shop["today"] - timedelta(days=2)
    sale = sell(client, manager, [(shop["KOPI"], 1), (shop["TEH"], 2)], [{"method": "card", "amount_idr": 36_300}])
    move_sale(app, sale["id"], at(day, 10))
    with app.app_context():
        build_day(shop["store_id"], day)
    money_back = refund(client, manager, sale, shop["KOPI"], 1, method="card")  # 24.200
    move_refund(app, money_back["id"], at(day, 18))

    with app.app_context():
        build_day(shop["store_id"], day)
    rows = summary_rows(app)

    key = {"store_id": shop["store_id"], "business_date": day}
    assert rows["daily_products"] == [dict(key, product_id=shop["TEH"], qty=2, revenue_idr=12_100)]
    assert rows["daily_tenders"] == [dict(key, method="card", amount_idr=12_100, payments_count=1)]
    assert [row["refunds_idr"] for row in rows["daily_sales"]] == [0, 24_200]  # online, pos
    assert len(rows["summary_days"]) == 1


def test_today_is_never_built(shop):
    with shop["app"].app_context():
        with pytest.raises(ValueError, match="not closed yet"):
            build_day(shop["store_id"], shop["today"])
    assert summary_rows(shop["app"])["summary_days"] == []


# --- flask reports rebuild ----------------------------------------------------------------------


def rebuild(app, date_from, date_to):
    return app.test_cli_runner().invoke(args=["reports", "rebuild", "--from", str(date_from), "--to", str(date_to)])


def test_the_rebuild_command_builds_the_closed_days_of_the_range_and_again_the_same(shop):
    yesterday, three_days_ago = make_last_week(shop)
    app, today = shop["app"], shop["today"]

    result = rebuild(app, today - timedelta(days=7), today + timedelta(days=3))
    first = summary_rows(app)
    again = rebuild(app, today - timedelta(days=7), today + timedelta(days=3))

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Built 7 days of summaries."  # today and the days after are not closed
    assert without_built_at(first) == expected_rows(shop, yesterday, three_days_ago)
    assert again.exit_code == 0, again.output
    assert without_built_at(summary_rows(app)) == without_built_at(first)


def test_the_rebuild_command_builds_only_the_days_asked_for(shop):
    _, three_days_ago = make_last_week(shop)

    result = rebuild(shop["app"], three_days_ago, three_days_ago)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Built 1 days of summaries."
    rows = summary_rows(shop["app"])
    assert [row["business_date"] for row in rows["summary_days"]] == [three_days_ago]
    assert {row["business_date"] for table in rows.values() for row in table} == {three_days_ago}


@pytest.mark.parametrize(("date_from", "date_to"), [("2025-04-02", "2025-04-01"), ("01-04-2025", "2025-04-02"),
                                                    ("", "2025-04-01")])
def test_the_rebuild_command_refuses_a_bad_range_and_builds_nothing(shop, date_from, date_to):
    result = rebuild(shop["app"], date_from, date_to)

    assert result.exit_code == 2, result.output
    assert summary_rows(shop["app"]) == {table: [] for table in summary_rows(shop["app"])}


def test_the_rebuild_command_says_why_from_after_to_is_refused(shop):
    result = rebuild(shop["app"], "2025-04-02", "2025-04-01")
    assert "--from must not be after --to" in result.output
