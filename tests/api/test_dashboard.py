"""GET /api/dashboard: today so far against the same weekday last week up to the same time of day.

Sales are rung up now through the API; last week's are rung up and then
moved to seven days ago, one earlier in that day than this moment and one
later (only the earlier one is "so far"). Figures are worked out by hand: the
shop charges 10 % service and 10 % tax on top (Rp 10.000 of goods is
Rp 12.100).
"""

from datetime import datetime, timedelta, timezone

from tests.reports_support import (
    JAKARTA,
    create_product,
    figures,
    get_json,
    move_sale,
    now_in_store,
    pay_order,
    place_order,
    refund,
    sell,
    set_tax_and_service,
    void,
)


def patch_order(client, headers, order_id, status):
    response = client.patch(f"/api/orders/{order_id}", json={"status": status}, headers=headers)
    assert response.status_code == 200, response.get_json()


def test_the_dashboard_compares_today_so_far_with_last_week_up_to_the_same_time(app, client, make_user, auth_headers):
    supervisor, cashier_user = make_user("supervisor"), make_user("cashier")
    manager, cashier = auth_headers(user=supervisor), auth_headers(user=cashier_user)
    set_tax_and_service(app, tax_rate_bp=1000, service_charge_bp=1000)
    kopi = create_product(client, manager, "KOPI", 20_000, low_stock_threshold=5)
    teh = create_product(client, manager, "TEH", 5_000, low_stock_threshold=5)
    create_product(client, manager, "GULA", 15_000, stock=1, low_stock_threshold=5)
    create_product(client, manager, "SUSU", 12_000, stock=5, low_stock_threshold=5)

    now = now_in_store()
    today, last_week = now.date(), now.date() - timedelta(days=7)
    same_time = now - timedelta(days=7)
    day_start = datetime.combine(last_week, datetime.min.time(), JAKARTA)
    earlier, later = day_start + (same_time - day_start) / 2, same_time + (day_start + timedelta(days=1) - same_time) / 2

    long_ago = sell(client, manager, [(teh, 1)], [{"method": "cash", "amount_idr": 6_050}])
    move_sale(app, long_ago["id"], now - timedelta(days=30))
    then_counted = sell(client, manager, [(kopi, 1)], [{"method": "card", "amount_idr": 24_200}])
    move_sale(app, then_counted["id"], earlier)
    then_later = sell(client, cashier, [(teh, 3)], [{"method": "cash", "amount_idr": 18_150}])
    move_sale(app, then_later["id"], later)
    first = sell(client, manager, [(kopi, 1)], [{"method": "cash", "amount_idr": 30_000}])  # 24.200
    second = sell(client, cashier, [(teh, 2)], [{"method": "qris", "amount_idr": 12_100}])
    voided = sell(client, cashier, [(kopi, 1)], [{"method": "cash", "amount_idr": 24_200}])
    void(client, manager, voided["id"])
    refund(client, manager, second, teh, 1)  # 6.050 back today

    order_now = place_order(client, [(teh, 1)])  # 6.050, paid now
    pay_order(app, order_now["id"], "qris")
    order_earlier = place_order(client, [(teh, 1)])  # 6.050, paid last week before this time of day
    pay_order(app, order_earlier["id"], "gopay", at=earlier)
    patch_order(client, manager, order_earlier["id"], "preparing")
    patch_order(client, manager, order_earlier["id"], "ready")
    order_later = place_order(client, [(kopi, 2)])  # paid last week after this time of day
    pay_order(app, order_later["id"], "gopay", at=later)
    patch_order(client, manager, order_later["id"], "preparing")
    place_order(client, [(kopi, 1)])  # waiting for payment
    dropped = place_order(client, [(teh, 1)])
    patch_order(client, manager, dropped["id"], "cancelled")

    before = datetime.now(timezone.utc)
    board = get_json(client, manager, "/api/dashboard")
    after = datetime.now(timezone.utc)

    assert board["date"] == today.isoformat()
    # Today: sales 1 and 2 (the voided one not), 1 TEH refunded; the order paid now.
    assert board["today"] == {
        "pos": figures(2, 3, 30_000, 0, 3_000, 3_300, 36_300, 6_050, 18_150),
        "online": figures(1, 1, 5_000, 0, 500, 550, 6_050, 0, 6_050),
        "all": figures(3, 4, 35_000, 0, 3_500, 3_850, 42_350, 6_050, 14_117),  # 42.350 / 3, rounded
    }
    # Last week up to this time: the KOPI sale and the order paid earlier, not the later sale or order.
    then = board["same_weekday_last_week"]
    assert then["date"] == last_week.isoformat()
    assert then["all"] == figures(2, 2, 25_000, 0, 2_500, 2_750, 30_250, 0, 15_125)
    until = datetime.fromisoformat(then["until"])
    assert before - timedelta(days=7) <= until <= after - timedelta(days=7)
    assert board["net_change_percent"] == 40.0  # (42.350 - 30.250) / 30.250
    assert board["open_orders"] == {"pending": 1, "paid": 1, "preparing": 1, "ready": 1}
    assert board["low_stock_count"] == 2  # GULA (1 of 5) and SUSU (5 of 5)
    assert [(s["id"], s["number"], s["status"], s["total_idr"], s["cashier"]) for s in board["last_sales"]] == [
        (voided["id"], voided["number"], "voided", 24_200, cashier_user["username"]),
        (second["id"], second["number"], "partially_refunded", 12_100, cashier_user["username"]),
        (first["id"], first["number"], "completed", 24_200, supervisor["username"]),
        (then_later["id"], then_later["number"], "completed", 18_150, cashier_user["username"]),
        (then_counted["id"], then_counted["number"], "completed", 24_200, supervisor["username"]),
    ]
    shown = [datetime.fromisoformat(s["created_at"]) for s in board["last_sales"]]
    assert shown[3:] == [later, earlier]
    assert all(moment.astimezone(JAKARTA).date() == today for moment in shown[:3])


def test_a_quiet_shop_shows_zeros_and_no_change_against_an_empty_last_week(client, auth_headers):
    board = get_json(client, auth_headers("admin"), "/api/dashboard")

    assert board["today"] == {"pos": figures(), "online": figures(), "all": figures()}
    assert board["same_weekday_last_week"]["all"] == figures()
    assert board["net_change_percent"] is None
    assert board["open_orders"] == {"pending": 0, "paid": 0, "preparing": 0, "ready": 0}
    assert (board["low_stock_count"], board["last_sales"]) == (0, [])
