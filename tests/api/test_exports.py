"""Report exports: asked for over the API, written by a real Celery worker, downloaded and read back.

The worker and the API share EXPORT_DIR: both take it from the environment
or default to `instance/exports` in the repository, and the conftest worker
runs from the repository root with this process's environment. Export ids
(and so file names) start at a random number in each test, so test runs side
by side never write or delete each other's files; each test removes its files.

Files are read the way a manager's spreadsheet would: CSV with the csv
module, XLSX with openpyxl. Expected rows are worked out by hand (10 %
service and 10 % tax on top: Rp 10.000 of goods is Rp 12.100).
"""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.extensions import db
from app.models import utcnow
from app.reports.models import ReportExport
from app.stores.services import current_store_id
from tests.helpers import wait_for
from tests.reports_support import (
    move_refund,
    move_sale,
    pay_order,
    place_order,
    refund,
    sell,
    void,
    wib,
)

RANGE = {"date_from": "2025-03-30", "date_to": "2025-03-31"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def make_two_days(export_shop):
    """Sunday 2025-03-30 and Monday 2025-03-31 in Jakarta, with a sale and an order just outside each end."""
    app, client = export_shop["app"], export_shop["client"]
    manager, cashier = export_shop["manager"], export_shop["cashier"]
    kopi, teh = export_shop["KOPI"], export_shop["TEH"]
    made = {}
    made["a"] = sell(client, manager, [(kopi, 2), (teh, 1)], [{"method": "cash", "amount_idr": 70_000}])  # 54.450
    move_sale(app, made["a"]["id"], wib(2025, 3, 30, 23, 59))
    made["v"] = sell(client, cashier, [(teh, 3)], [{"method": "cash", "amount_idr": 18_150}])
    void(client, manager, made["v"]["id"])
    move_sale(app, made["v"]["id"], wib(2025, 3, 31, 9, 0))
    made["b"] = sell(client, cashier, [(teh, 2)], [{"method": "qris", "amount_idr": 12_100}])
    move_sale(app, made["b"]["id"], wib(2025, 3, 31, 0, 1))
    money_back = refund(client, manager, made["b"], teh, 1)  # 6.050
    move_refund(app, money_back["id"], wib(2025, 3, 31, 14, 0))
    before = sell(client, manager, [(teh, 1)], [{"method": "cash", "amount_idr": 6_050}])
    move_sale(app, before["id"], wib(2025, 3, 29, 23, 59))
    after = sell(client, manager, [(teh, 1)], [{"method": "cash", "amount_idr": 6_050}])
    move_sale(app, after["id"], wib(2025, 4, 1, 0, 0, 30))  # still 03-31 in UTC

    made["o"] = place_order(client, [(kopi, 1), (teh, 3)])  # 35.000 + 3.500 + 3.850 = 42.350
    pay_order(app, made["o"]["id"], "qris", at=wib(2025, 3, 31, 0, 30))  # 03-30 in UTC
    late = place_order(client, [(kopi, 1)])
    pay_order(app, late["id"], "gopay", at=wib(2025, 4, 1, 6, 0))  # 03-31 in UTC
    place_order(client, [(teh, 1)])  # never paid
    return made


def ask(export_shop, report, file_format, headers=None, **dates):
    response = export_shop["client"].post("/api/reports/exports", headers=headers or export_shop["manager"],
                                   json={"report": report, "format": file_format, **(dates or RANGE)})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    # The body is read after the commit that queues the task: a quick worker may already be on it.
    assert body["status"] in ("pending", "running", "done")
    assert (body["report"], body["format"]) == (report, file_format)
    return body["id"]


def finished(export_shop, export_id, headers=None):
    """Poll the export's status as the manager's screen does, until the worker has finished it."""
    def status():
        response = export_shop["client"].get(f"/api/reports/exports/{export_id}",
                                             headers=headers or export_shop["manager"])
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return body if body["status"] in ("done", "failed") else None

    body = wait_for(status, timeout=60, message=f"export {export_id} to finish")
    assert body["status"] == "done", body
    return body


def download(export_shop, export_id, headers=None):
    return export_shop["client"].get(f"/api/reports/exports/{export_id}/download",
                                     headers=headers or export_shop["manager"])


def read_csv(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def read_xlsx(response):
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert workbook.sheetnames == ["report"]
    return [list(row) for row in workbook["report"].iter_rows(values_only=True)]


def test_a_csv_export_of_the_sales_downloads_with_every_sale_and_paid_order_of_the_range(export_shop, celery_worker):
    made = make_two_days(export_shop)
    a, v, b, order = made["a"], made["v"], made["b"], made["o"]

    export_id = ask(export_shop, "sales_detail", "csv")
    status = finished(export_shop, export_id)
    response = download(export_shop, export_id)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=sales_detail-2025-03-30-2025-03-31.csv"
    rows = read_csv(response)
    assert rows == [
        ["channel", "number", "business_date", "created_at", "status", "cashier", "subtotal_idr", "discount_idr",
         "service_charge_idr", "tax_idr", "total_idr", "paid_idr", "change_idr", "refunded_idr"],
        ["pos", a["number"], "2025-03-30", "2025-03-30 23:59:00", "completed", export_shop["supervisor"],
         "45000", "0", "4500", "4950", "54450", "70000", "15550", "0"],
        ["pos", v["number"], "2025-03-31", "2025-03-31 09:00:00", "voided", export_shop["cashier_name"],
         "15000", "0", "1500", "1650", "18150", "18150", "0", "0"],
        ["pos", b["number"], "2025-03-31", "2025-03-31 00:01:00", "partially_refunded", export_shop["cashier_name"],
         "10000", "0", "1000", "1100", "12100", "12100", "0", "6050"],
        ["online", order["id"], "2025-03-31", "2025-03-31 00:30:00", "paid", "",
         "35000", "0", "3500", "3850", "42350", "42350", "0", "0"],
    ]
    assert (status["row_count"], status["size_bytes"]) == (4, len(response.get_data()))
    assert (status["report"], status["format"], status["date_from"], status["date_to"]) == (
        "sales_detail", "csv", "2025-03-30", "2025-03-31")


def test_an_xlsx_export_of_the_items_sold_opens_with_every_line(export_shop, celery_worker):
    made = make_two_days(export_shop)
    a, b, order = made["a"], made["b"], made["o"]
    sunday, monday = datetime(2025, 3, 30), datetime(2025, 3, 31)

    export_id = ask(export_shop, "items_sold", "xlsx")
    finished(export_shop, export_id)
    response = download(export_shop, export_id)

    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert read_xlsx(response) == [
        ["channel", "number", "business_date", "sku", "name", "qty", "unit_price_idr", "line_discount_idr",
         "total_share_idr", "refunded_qty"],
        # Sale A: 45.000 of goods -> 54.450; the lines keep 40.000 and 5.000 of it.
        ["pos", a["number"], sunday, "KOPI", "Produk KOPI", 2, 20_000, 0, 48_400, 0],
        ["pos", a["number"], sunday, "TEH", "Produk TEH", 1, 5_000, 0, 6_050, 0],
        # The voided sale's line is not there; sale B's single line had one of two refunded.
        ["pos", b["number"], monday, "TEH", "Produk TEH", 2, 5_000, 0, 12_100, 1],
        # The order: 20.000 and 15.000 of its 35.000, shares of its 42.350 total.
        ["online", order["id"], monday, "KOPI", "Produk KOPI", 1, 20_000, 0, 24_200, 0],
        ["online", order["id"], monday, "TEH", "Produk TEH", 3, 5_000, 0, 18_150, 0],
    ]


def test_a_best_sellers_export_ranks_like_the_report(export_shop, celery_worker):
    make_two_days(export_shop)

    export_id = ask(export_shop, "best_sellers", "csv")
    finished(export_shop, export_id)
    rows = read_csv(download(export_shop, export_id))

    # TEH: 1 (A) + 2 (B) - 1 refunded + 3 (order) = 5 units, 6.050 + 12.100 - 6.050 + 18.150;
    # KOPI: 2 (A) + 1 (order) = 3 units, 48.400 + 24.200.
    assert rows == [["rank", "sku", "name", "category", "qty", "revenue_idr"],
                    ["1", "TEH", "Produk TEH", "Minuman", "5", "30250"],
                    ["2", "KOPI", "Produk KOPI", "Minuman", "3", "72600"]]
    report = export_shop["client"].get("/api/reports/best-sellers", query_string=RANGE,
                                       headers=export_shop["manager"]).get_json()
    assert [[r["sku"], str(r["qty"]), str(r["revenue_idr"])] for r in report] == [row[1:2] + row[4:] for row in rows[1:]]


def test_an_export_of_a_quiet_range_has_just_its_header(export_shop, celery_worker):
    export_id = ask(export_shop, "sales_detail", "xlsx", date_from="2025-01-01", date_to="2025-01-31")
    status = finished(export_shop, export_id)

    assert status["row_count"] == 0
    assert read_xlsx(download(export_shop, export_id)) == [
        ["channel", "number", "business_date", "created_at", "status", "cashier", "subtotal_idr", "discount_idr",
         "service_charge_idr", "tax_idr", "total_idr", "paid_idr", "change_idr", "refunded_idr"]]


def test_running_a_finished_export_again_changes_nothing(export_shop, celery_worker):
    from tasks.reports import run_export

    make_two_days(export_shop)
    export_id = ask(export_shop, "sales_detail", "csv")
    first = finished(export_shop, export_id)
    content = download(export_shop, export_id).get_data()

    assert run_export.delay(export_id).get(timeout=60) is None
    assert finished(export_shop, export_id) == first
    assert download(export_shop, export_id).get_data() == content


# --- whose export, and when ---------------------------------------------------------------------


def test_only_the_person_who_asked_sees_or_downloads_an_export(export_shop, auth_headers, celery_worker):
    export_id = ask(export_shop, "sales_detail", "csv")
    finished(export_shop, export_id)

    for stranger in (auth_headers("admin"), auth_headers("supervisor")):
        status = export_shop["client"].get(f"/api/reports/exports/{export_id}", headers=stranger)
        file = download(export_shop, export_id, headers=stranger)
        assert status.status_code == 404, status.get_json()
        assert file.status_code == 404, file.get_json()
    other = export_shop["client"].get(f"/api/reports/exports/{export_id + 1}", headers=export_shop["manager"])
    assert other.status_code == 404
    assert download(export_shop, export_id).status_code == 200


def _export_row(app, user_id, status, **fields):
    with app.app_context():
        export = ReportExport(store_id=current_store_id(), requested_by_id=user_id, report="sales_detail",
                              format="csv", date_from=date(2025, 3, 30), date_to=date(2025, 3, 31), status=status,
                              created_at=utcnow(), **fields)
        db.session.add(export)
        db.session.commit()
        return export.id


@pytest.mark.parametrize("status", ["pending", "running", "failed"])
def test_an_export_not_done_cannot_be_downloaded_yet(app, client, make_user, auth_headers, export_files, status):
    owner = make_user("supervisor")
    headers = auth_headers(user=owner)
    export_id = _export_row(app, owner["id"], status, error="boom" if status == "failed" else None)

    response = client.get(f"/api/reports/exports/{export_id}/download", headers=headers)
    shown = client.get(f"/api/reports/exports/{export_id}", headers=headers)

    assert response.status_code == 409, response.get_json()
    assert status in response.get_json()["message"]
    assert shown.status_code == 200
    assert (shown.get_json()["status"], shown.get_json()["row_count"]) == (status, None)


def test_old_files_are_deleted_and_their_exports_expire(export_shop, celery_worker):
    from tasks.reports import clean_up_exports

    app = export_shop["app"]
    make_two_days(export_shop)
    old_id, new_id = ask(export_shop, "sales_detail", "csv"), ask(export_shop, "items_sold", "csv")
    finished(export_shop, old_id)
    finished(export_shop, new_id)
    hours = app.config["EXPORT_RETENTION_HOURS"]
    with app.app_context():
        db.session.execute(update(ReportExport).where(ReportExport.id == old_id)
                           .values(finished_at=utcnow() - timedelta(hours=hours, minutes=1)))
        db.session.execute(update(ReportExport).where(ReportExport.id == new_id)
                           .values(finished_at=utcnow() - timedelta(hours=hours, minutes=-5)))
        db.session.commit()
    old_file = export_shop["dir"] / f"{old_id}-sales_detail-2025-03-30-2025-03-31.csv"
    new_file = export_shop["dir"] / f"{new_id}-items_sold-2025-03-30-2025-03-31.csv"
    assert old_file.exists() and new_file.exists()

    assert clean_up_exports.delay().get(timeout=60) == 1

    assert not old_file.exists()
    assert new_file.exists()
    status = export_shop["client"].get(f"/api/reports/exports/{old_id}", headers=export_shop["manager"]).get_json()
    assert status["status"] == "expired"
    gone = download(export_shop, old_id)
    assert gone.status_code == 410, gone.get_json()
    assert "request the export again" in gone.get_json()["message"]
    assert download(export_shop, new_id).status_code == 200
    assert clean_up_exports.delay().get(timeout=60) == 0


# --- what may be asked --------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"report": "sales_detail", "format": "csv", "date_from": "2025-04-02", "date_to": "2025-04-01"}, "date_from"),
    ({"report": "sales_detail", "format": "csv", "date_from": "2024-01-01", "date_to": "2025-01-01"}, "date_to"),
    ({"report": "sales_detail", "format": "csv", "date_to": "2025-04-01"}, "date_from"),
    ({"report": "sales_detail", "format": "csv", "date_from": "2025-04-01"}, "date_to"),
    ({"report": "profit", "format": "csv", **RANGE}, "report"),
    ({"report": "sales_detail", "format": "pdf", **RANGE}, "format"),
    ({"format": "csv", **RANGE}, "report"),
])
def test_a_bad_export_request_is_refused_and_nothing_is_queued(app, client, auth_headers, body, field):
    response = client.post("/api/reports/exports", json=body, headers=auth_headers("supervisor"))

    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors.get("json", errors.get("query", {})), errors
    with app.app_context():
        assert db.session.scalars(select(ReportExport)).all() == []
