"""GET /api/sales/{id}/receipt: the struk as text, HTML and PDF, originals and copies."""

import io
import re

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.sales.models import Sale
from app.stores.models import default_store
from tests.conftest import ARTIFACTS
from tests.helpers import assert_error

LONG_NAME = "Nasi Goreng Kampung Spesial Telur Ceplok Ayam Suwir Kerupuk Udang Sambal Matah Pedas Level Lima"


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


@pytest.fixture
def cashier(auth_headers):
    return auth_headers("cashier")


def create_product(client, headers, sku, name, price_idr, stock=100):
    body = {"sku": sku, "name": name, "price_idr": price_idr, "initial_stock": stock}
    response = client.post("/api/products", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ring_sale(client, headers, items, payments):
    response = client.post("/api/sales", json={"items": items, "payments": payments}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def set_store(app):
    """Change the default store's row directly; put it back afterwards.

    The per-test cleanup keeps the default store as it is, so a tax rate
    left behind would change every later test's totals.
    """
    changed = {}

    def write(**settings):
        with app.app_context():
            store = default_store()
            for name, value in settings.items():
                changed.setdefault(name, getattr(store, name))
                setattr(store, name, value)
            db.session.commit()

    yield write
    write(**changed)


def save_artifact(name, content):
    """Kept under artifacts/ so a person can look at the receipts a run printed."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(content)


def receipt(client, headers, sale_id, **query):
    return client.get(f"/api/sales/{sale_id}/receipt", query_string=query, headers=headers)


def prints_of(app, sale_id):
    with app.app_context():
        return db.session.get(Sale, sale_id).receipt_prints


@pytest.fixture
def coffee_sale(client, admin, cashier):
    """2 x 18.000 + 1 x 12.345.678.900 with a long name, paid by card, QRIS and cash with change."""
    coffee = create_product(client, admin, "KOPI-1", "Kopi Susu", 18_000)
    feast = create_product(client, admin, "NASI-1", LONG_NAME, 12_345_678_900)
    return ring_sale(
        client, cashier,
        items=[{"product_id": coffee["id"], "qty": 2}, {"product_id": feast["id"], "qty": 1}],
        payments=[{"method": "card", "amount_idr": 12_345_000_000}, {"method": "qris", "amount_idr": 600_000},
                  {"method": "transfer", "amount_idr": 50_000}, {"method": "cash", "amount_idr": 100_000}],
    )


# --- text -------------------------------------------------------------------


@pytest.mark.parametrize("width,columns", [(58, 32), (80, 48)])
def test_text_receipt_fits_the_paper_and_says_what_was_sold(app, client, cashier, coffee_sale, width, columns):
    response = receipt(client, cashier, coffee_sale["id"], width=width)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.get_data(as_text=True).splitlines()
    assert all(len(line) <= columns for line in lines), [line for line in lines if len(line) > columns]
    text = "\n".join(lines)
    assert coffee_sale["number"] in text
    assert "Kopi Susu" in text and "2 x 18.000" in text
    # The long name is all there, wrapped over several lines without cutting words.
    assert " ".join(text.split()).count(LONG_NAME) == 1
    assert "12.345.678.900" in text
    total = coffee_sale["total_idr"]
    assert total == 12_345_714_900
    assert any(line.startswith("TOTAL") and line.endswith("Rp 12.345.714.900") for line in lines)
    for label, amount in (("Kartu", "12.345.000.000"), ("QRIS", "600.000"), ("Transfer", "50.000"),
                          ("Tunai", "100.000"), ("Kembali", "35.100")):
        assert any(line.startswith(label) and line.endswith(" " + amount) for line in lines), label
    assert coffee_sale["change_idr"] == 35_100
    assert "Test Cashier" in text  # the cashier's full name
    assert "SALINAN" not in text
    save_artifact(f"receipt-{width}.txt", response.get_data())


def test_defaults_are_text_on_80_mm(client, cashier, coffee_sale):
    response = receipt(client, cashier, coffee_sale["id"])
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.get_data(as_text=True).splitlines()
    assert max(len(line) for line in lines) == 48  # the rules run the full 48 columns


def test_the_first_print_is_the_original_and_later_ones_are_copies(app, client, cashier, coffee_sale):
    sale_id = coffee_sale["id"]
    first = receipt(client, cashier, sale_id).get_data(as_text=True)
    second = receipt(client, cashier, sale_id, format="html", width=58).get_data(as_text=True)
    third = receipt(client, cashier, sale_id).get_data(as_text=True)

    assert "SALINAN / COPY" not in first
    assert "SALINAN / COPY" in second
    assert third.splitlines()[0].strip() == "*** SALINAN / COPY ***"
    assert third.splitlines()[1:] == first.splitlines()
    assert prints_of(app, sale_id) == 3


def test_store_settings_show_in_the_header_tax_and_footer(client, admin, cashier, set_store):
    set_store(name="Warung Bu Tini", address="Jl. Braga 12, Bandung", phone="022-7654321",
              tax_id="01.234.567.8-901.000", receipt_header="Buka 07.00-21.00", receipt_footer="Sampai jumpa lagi",
              tax_name="PPN", tax_rate_bp=1100, tax_inclusive=False, service_charge_bp=500)
    product = create_product(client, admin, "SOTO-1", "Soto Ayam", 20_000)
    # 20.000 + service 5% (1.000) + PPN 11% of 21.000 (2.310) = 23.310
    sale = ring_sale(client, cashier, [{"product_id": product["id"], "qty": 1}],
                     [{"method": "cash", "amount_idr": 25_000}])
    assert sale["total_idr"] == 23_310

    lines = receipt(client, cashier, sale["id"], width=58).get_data(as_text=True).splitlines()
    stripped = [line.strip() for line in lines]
    for expected in ("Warung Bu Tini", "Jl. Braga 12, Bandung", "Telp: 022-7654321", "NPWP: 01.234.567.8-901.000",
                     "Buka 07.00-21.00", "Sampai jumpa lagi"):
        assert expected in stripped
    assert "Terima kasih" not in stripped
    assert any(line.startswith("Service 5%") and line.endswith(" 1.000") for line in lines)
    assert any(line.startswith("PPN 11%") and line.endswith(" 2.310") for line in lines)
    assert any(line.startswith("TOTAL") and line.endswith("Rp 23.310") for line in lines)
    assert any(line.startswith("Kembali") and line.endswith(" 1.690") for line in lines)


def test_inclusive_tax_is_shown_but_not_added(client, admin, cashier, set_store):
    set_store(tax_name="PPN", tax_rate_bp=1100, tax_inclusive=True)
    product = create_product(client, admin, "MIE-1", "Mie Ayam", 22_200)
    sale = ring_sale(client, cashier, [{"product_id": product["id"], "qty": 1}],
                     [{"method": "qris", "amount_idr": 22_200}])

    lines = receipt(client, cashier, sale["id"]).get_data(as_text=True).splitlines()
    # 22.200 x 11 / 111 = 2.200, already inside the price.
    assert any(line.startswith("termasuk PPN 11%") and line.endswith(" 2.200") for line in lines)
    assert any(line.startswith("TOTAL") and line.endswith("Rp 22.200") for line in lines)
    assert not any(line.startswith("PPN") for line in lines)


def test_a_voided_sale_says_void(app, client, admin, cashier, coffee_sale):
    response = client.post(f"/api/sales/{coffee_sale['id']}/void", json={"reason": "Pelanggan batal"}, headers=admin)
    assert response.status_code == 200, response.get_json()

    text = receipt(client, cashier, coffee_sale["id"]).get_data(as_text=True)
    assert text.count("*** VOID / DIBATALKAN ***") == 2
    assert "Alasan: Pelanggan batal" in text


def test_a_refund_shows_on_the_receipt(client, admin, cashier, coffee_sale):
    coffee_line = next(item for item in coffee_sale["items"] if item["name"] == "Kopi Susu")
    response = client.post(f"/api/sales/{coffee_sale['id']}/refunds", headers=admin,
                           json={"items": [{"sale_item_id": coffee_line["id"], "qty": 1}], "reason": "Tumpah"})
    assert response.status_code == 201, response.get_json()

    lines = receipt(client, cashier, coffee_sale["id"]).get_data(as_text=True).splitlines()
    assert any(line.startswith("  Retur 1") and line.endswith(" -18.000") for line in lines)
    assert any(line.startswith("Retur/Refund") and line.endswith(" -18.000") for line in lines)
    assert any(line.startswith("Total setelah retur") and line.endswith(" 12.345.696.900") for line in lines)


# --- HTML -------------------------------------------------------------------


@pytest.mark.parametrize("width", [58, 80])
def test_html_receipt_is_a_printable_page_with_escaped_names(client, admin, cashier, width):
    evil = create_product(client, admin, "EVIL-1", '<script>alert("struk")</script> Kue', 7_500)
    sale = ring_sale(client, cashier, [{"product_id": evil["id"], "qty": 2}],
                     [{"method": "cash", "amount_idr": 20_000}])

    response = receipt(client, cashier, sale["id"], format="html", width=width)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.get_data(as_text=True)
    assert page.startswith("<!DOCTYPE html>")
    assert f"@page {{ size: {width}mm auto" in page and "@media print" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert sale["number"] in page and "Rp 15.000" in page and "Kembali" in page


# --- PDF --------------------------------------------------------------------


@pytest.mark.parametrize("width", [58, 80])
def test_pdf_receipt_opens_and_holds_the_number_and_total(app, client, cashier, coffee_sale, width):
    response = receipt(client, cashier, coffee_sale["id"], format="pdf", width=width)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="{coffee_sale["number"]}.pdf"'
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert float(reader.pages[0].mediabox.width) / 72 * 25.4 == pytest.approx(width, abs=0.1)
    text = reader.pages[0].extract_text()
    assert coffee_sale["number"] in text
    assert re.search(r"TOTAL\s+Rp 12\.345\.714\.900", text)
    save_artifact(f"receipt-{width}.pdf", pdf)


# --- refusals ---------------------------------------------------------------


@pytest.mark.parametrize("query", [{"format": "docx"}, {"width": 72}, {"width": "wide"}, {"format": ""}])
def test_bad_format_or_width_is_422_and_prints_nothing(app, client, cashier, coffee_sale, query):
    body = assert_error(receipt(client, cashier, coffee_sale["id"], **query), 422)
    assert set(body["errors"]["query"]) == set(query)
    assert prints_of(app, coffee_sale["id"]) == 0


def test_unknown_sale_is_404(client, cashier):
    assert_error(receipt(client, cashier, 999_999), 404)


def test_without_a_token_is_401_and_prints_nothing(app, client, coffee_sale):
    assert_error(client.get(f"/api/sales/{coffee_sale['id']}/receipt"), 401)
    assert prints_of(app, coffee_sale["id"]) == 0
