"""The struk layout, on Sale and Store objects built in memory (no database)."""

import html
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from app.customers.models import Customer
from app.sales import receipts
from app.sales.models import Sale, SaleItem, SalePayment
from app.sales.receipts import receipt_lines
from app.stores.models import Store
from app.users.models import User

JAKARTA = ZoneInfo("Asia/Jakarta")
WIDTHS = {58: 32, 80: 48}
LONG_NAME = "Kopi Susu Gula Aren Spesial Dengan Extra Shot Espresso Dan Boba Brown Sugar Ukuran Jumbo"


def make_store(**overrides):
    fields = dict(code="main", name="Toko Maju Jaya", address="Jl. Merdeka No. 1, Bandung", phone="022-1234567",
                  tax_id=None, receipt_header=None, receipt_footer=None, tax_name="PPN")
    return Store(**{**fields, **overrides})


def make_item(name="Teh Botol", qty=1, unit_price_idr=5_000, line_discount_idr=0, **overrides):
    gross = qty * unit_price_idr
    fields = dict(sku="SKU", name=name, qty=qty, unit_price_idr=unit_price_idr, line_discount_idr=line_discount_idr,
                  sale_discount_share_idr=0, total_share_idr=gross - line_discount_idr, refunded_qty=0, refunded_idr=0)
    return SaleItem(**{**fields, **overrides})


def make_sale(items=None, payments=None, **overrides):
    """A plain sale: no tax, no service, paid in cash; amounts follow the items unless overridden."""
    items = items if items is not None else [make_item()]
    subtotal = sum(item.qty * item.unit_price_idr for item in items)
    line_discount = sum(item.line_discount_idr for item in items)
    total = overrides.pop("total_idr", subtotal - line_discount)
    payments = payments if payments is not None else [SalePayment(method="cash", amount_idr=total)]
    paid = sum(payment.amount_idr for payment in payments)
    fields = dict(
        number="S-20261126-0001", business_date=datetime(2026, 11, 26).date(), status="completed",
        cashier=User(username="budi", full_name="Budi Santoso", role="cashier"), customer=None,
        subtotal_idr=subtotal, line_discount_idr=line_discount, sale_discount_idr=0, discount_idr=line_discount,
        service_charge_idr=0, service_charge_bp=0, tax_idr=0, tax_name=None, tax_rate_bp=0, tax_inclusive=False,
        total_idr=total, paid_idr=paid, change_idr=paid - total, refunded_idr=0, note=None, receipt_prints=1,
        # 07:05 UTC is 14:05 in Jakarta (UTC+7).
        created_at=datetime(2026, 11, 26, 7, 5, tzinfo=timezone.utc),
    )
    return Sale(items=items, payments=payments, **{**fields, **overrides})


def lines_of(sale, store=None, width=80, is_copy=False):
    return receipt_lines(sale, store or make_store(), width, is_copy, JAKARTA)


def line_with(lines, text):
    matches = [line for line in lines if text in line]
    assert matches, f"no line with {text!r} in:\n" + "\n".join(lines)
    return matches[0]


def assert_fits(lines, width):
    too_long = [line for line in lines if len(line) > WIDTHS[width]]
    assert not too_long, f"lines longer than {WIDTHS[width]}: {too_long}"


# --- number formats ------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(0, "0"), (500, "500"), (18_000, "18.000"), (1_000_000, "1.000.000"), (12_345_678_900, "12.345.678.900"),
     (-2_500, "-2.500")],
)
def test_amounts_use_a_dot_between_thousands(amount, shown):
    assert receipts.rupiah(amount) == shown


def test_amounts_with_the_symbol():
    assert receipts.rupiah_with_symbol(18_000) == "Rp 18.000"


@pytest.mark.parametrize(("rate_bp", "shown"), [(1100, "11%"), (500, "5%"), (1250, "12,5%"), (1125, "11,25%"), (0, "0%")])
def test_rates_read_as_indonesian_percents(rate_bp, shown):
    assert receipts.percent(rate_bp) == shown


# --- primitives ------------------------------------------------------------


def test_wrap_breaks_between_words_only():
    lines = receipts.wrap(LONG_NAME, 32)
    assert all(len(line) <= 32 for line in lines)
    assert " ".join(lines) == LONG_NAME
    words = set(LONG_NAME.split())
    assert all(word in words for line in lines for word in line.split())


def test_wrap_splits_a_word_only_when_it_alone_is_too_long():
    word = "X" * 70
    assert receipts.wrap(word, 32) == ["X" * 32, "X" * 32, "X" * 6]


def test_wrap_keeps_the_shops_own_line_breaks():
    assert receipts.wrap("Buka 08.00-22.00\nIG @tokomaju", 32) == ["Buka 08.00-22.00", "IG @tokomaju"]


def test_columns_right_align_the_value_or_move_it_to_its_own_line():
    assert receipts.columns("Subtotal", "18.000", 32) == ["Subtotal" + " " * 18 + "18.000"]
    left = "A label that is rather long here"
    assert receipts.columns(left, "12.345.678.900", 32) == [left, "12.345.678.900".rjust(32)]


def test_labelled_facts_line_up_and_indent_their_further_lines():
    assert receipts.labelled("No", "S-20261126-0001", 32) == ["No       : S-20261126-0001"]
    lines = receipts.labelled("Pelanggan", "Raden Ajeng Kartini Djojoadhiningrat", 32)
    assert lines == ["Pelanggan: Raden Ajeng Kartini", "           Djojoadhiningrat"]


# --- the layout ------------------------------------------------------------


def test_plain_sale_reads_top_to_bottom():
    store = make_store(tax_id="01.234.567.8-901.000", receipt_header="Cabang Dago")
    sale = make_sale(items=[make_item("Teh Botol", qty=2, unit_price_idr=9_000)],
                     payments=[SalePayment(method="cash", amount_idr=20_000)],
                     customer=Customer(name="Ani Lestari"))
    lines = lines_of(sale, store, width=58)

    text = "\n".join(lines)
    order = ["Toko Maju Jaya", "Jl. Merdeka No. 1, Bandung", "Telp: 022-1234567", "NPWP: 01.234.567.8-901.000",
             "Cabang Dago", "S-20261126-0001", "26/11/2026 14:05", "Budi Santoso", "Ani Lestari", "Teh Botol",
             "2 x 9.000", "Subtotal", "TOTAL", "Tunai", "Kembali", "Terima kasih"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert line_with(lines, "2 x 9.000") == "  2 x 9.000" + "18.000".rjust(32 - len("  2 x 9.000"))
    assert line_with(lines, "TOTAL") == "TOTAL" + "Rp 18.000".rjust(27)
    assert line_with(lines, "Tunai").endswith(" 20.000")
    assert line_with(lines, "Kembali").endswith(" 2.000")
    assert "SALINAN" not in text and "VOID" not in text
    assert_fits(lines, 58)


def test_the_store_name_is_centred():
    line = lines_of(make_sale(), width=80)[0]
    assert line.strip() == "Toko Maju Jaya"
    assert abs((len(line) - len(line.lstrip())) - (48 - len("Toko Maju Jaya")) // 2) <= 1


def test_optional_store_facts_are_left_out_when_not_set():
    text = "\n".join(lines_of(make_sale(), make_store(address=None, phone=None, tax_id=None)))
    assert "NPWP" not in text and "Telp" not in text and "Pelanggan" not in text


def test_long_item_names_wrap_onto_further_lines_within_the_width():
    sale = make_sale(items=[make_item(LONG_NAME, qty=3, unit_price_idr=35_000)])
    for width, columns_count in WIDTHS.items():
        lines = lines_of(sale, width=width)
        assert_fits(lines, width)
        start = lines.index(receipts.wrap(LONG_NAME, columns_count)[0])
        name_lines = lines[start:start + len(receipts.wrap(LONG_NAME, columns_count))]
        assert len(name_lines) > 1
        assert " ".join(name_lines) == LONG_NAME


def test_line_discounts_are_shown_under_the_item_and_in_the_total_discount():
    sale = make_sale(items=[make_item("Roti", qty=2, unit_price_idr=10_000, line_discount_idr=1_500)],
                     sale_discount_idr=500, discount_idr=2_000, total_idr=18_000)
    lines = lines_of(sale)
    item_at = lines.index("Roti")
    assert lines[item_at + 2].startswith("  Diskon") and lines[item_at + 2].endswith(" -1.500")
    assert line_with(lines, "Subtotal").endswith(" 20.000")
    assert [line for line in lines if line.startswith("Diskon")][0].endswith(" -2.000")
    assert line_with(lines, "TOTAL").endswith("Rp 18.000")


def test_no_discount_line_without_a_discount():
    assert not any("Diskon" in line for line in lines_of(make_sale()))


def test_exclusive_tax_is_a_line_above_the_total():
    # 100.000 + service 5% (5.000) + PPN 11% of 105.000 (11.550) = 116.550
    sale = make_sale(items=[make_item(unit_price_idr=100_000)], service_charge_bp=500, service_charge_idr=5_000,
                     tax_name="PPN", tax_rate_bp=1100, tax_idr=11_550, total_idr=116_550)
    lines = lines_of(sale)
    assert line_with(lines, "Service 5%").endswith(" 5.000")
    tax = line_with(lines, "PPN 11%")
    assert tax.startswith("PPN 11%") and tax.endswith(" 11.550")
    assert lines.index(tax) < lines.index(line_with(lines, "TOTAL"))
    assert line_with(lines, "TOTAL").endswith("Rp 116.550")
    assert not any("termasuk" in line for line in lines)


def test_inclusive_tax_is_shown_as_included_and_not_added():
    # 111.000 already contains PPN 11%: 111.000 x 11 / 111 = 11.000
    sale = make_sale(items=[make_item(unit_price_idr=111_000)], tax_name="PPN", tax_rate_bp=1100, tax_inclusive=True,
                     tax_idr=11_000)
    lines = lines_of(sale)
    included = line_with(lines, "termasuk PPN 11%")
    assert included.endswith(" 11.000")
    assert lines.index(included) > lines.index(line_with(lines, "TOTAL"))
    assert line_with(lines, "TOTAL").endswith("Rp 111.000")
    assert not any(line.startswith("PPN") for line in lines)


def test_no_tax_or_service_lines_when_the_store_charges_none():
    text = "\n".join(lines_of(make_sale()))
    assert "PPN" not in text and "Service" not in text


def test_every_tender_is_listed_with_its_reference_and_change_comes_from_cash():
    payments = [SalePayment(method="card", amount_idr=10_000, reference="APPR123"),
                SalePayment(method="qris", amount_idr=5_000, reference="QR-998877"),
                SalePayment(method="transfer", amount_idr=3_000),
                SalePayment(method="cash", amount_idr=10_000)]
    sale = make_sale(items=[make_item(unit_price_idr=25_000)], payments=payments)
    lines = lines_of(sale, width=58)
    assert line_with(lines, "Kartu").endswith(" 10.000")
    assert "  Ref: APPR123" in lines and "  Ref: QR-998877" in lines
    assert line_with(lines, "QRIS").endswith(" 5.000")
    assert line_with(lines, "Transfer").endswith(" 3.000")
    assert line_with(lines, "Tunai").endswith(" 10.000")
    assert line_with(lines, "Kembali").endswith(" 3.000")


def test_a_reprint_says_copy_at_the_top():
    lines = lines_of(make_sale(), is_copy=True)
    assert lines[0].strip() == "*** SALINAN / COPY ***"
    assert not any("SALINAN" in line for line in lines_of(make_sale(), is_copy=False))


def test_a_voided_sale_carries_a_void_banner_at_top_and_bottom():
    sale = make_sale(status="voided", void_reason="Salah input")
    lines = lines_of(sale)
    banners = [index for index, line in enumerate(lines) if "VOID" in line]
    assert len(banners) == 2
    assert banners[0] < lines.index(line_with(lines, "S-20261126-0001"))
    assert banners[1] > lines.index(line_with(lines, "TOTAL"))
    assert "Alasan: Salah input" in lines


def test_refunds_show_per_line_and_in_total():
    item = make_item("Roti", qty=3, unit_price_idr=10_000, refunded_qty=1, refunded_idr=10_000)
    sale = make_sale(items=[item], status="partially_refunded", refunded_idr=10_000)
    lines = lines_of(sale)
    assert line_with(lines, "  Retur 1").endswith(" -10.000")
    assert line_with(lines, "Retur/Refund").endswith(" -10.000")
    assert line_with(lines, "Total setelah retur").endswith(" 20.000")


def test_no_refund_lines_without_refunds():
    assert not any("Retur" in line for line in lines_of(make_sale()))


def test_the_footer_is_the_stores_or_a_default_thank_you():
    assert lines_of(make_sale())[-1].strip() == "Terima kasih"
    lines = lines_of(make_sale(), make_store(receipt_footer="Barang yang sudah dibeli\ntidak dapat ditukar"))
    assert [line.strip() for line in lines[-2:]] == ["Barang yang sudah dibeli", "tidak dapat ditukar"]


def test_the_time_is_the_stores_local_time():
    # 23:30 UTC on the 25th is already the 26th in Jakarta.
    sale = make_sale(created_at=datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc))
    assert line_with(lines_of(sale), "Tanggal").endswith("26/11/2026 06:30")


@pytest.mark.parametrize("width", [58, 80])
def test_no_line_is_ever_wider_than_the_paper(width):
    """Long names and texts, huge amounts, every tender, tax, service, refunds, void, copy: still within width."""
    huge = 12_345_678_900
    items = [make_item(LONG_NAME, qty=9_999, unit_price_idr=huge, line_discount_idr=huge,
                       refunded_qty=9_000, refunded_idr=huge * 9_000),
             make_item("Supercalifragilisticexpialidocious" * 3, qty=1, unit_price_idr=huge)]
    payments = [SalePayment(method=method, amount_idr=huge * 10_000, reference="R" * 64)
                for method in ("card", "qris", "transfer", "cash", "cash", "cash")]
    store = make_store(name="Toko Serba Ada Sejahtera Makmur Sentosa Abadi Selamanya " * 2, address="Jl. " + "A" * 250,
                       phone="0" * 32, tax_id="01.234.567.8-901.000" + "9" * 12, receipt_header="H " * 120,
                       receipt_footer="F" * 255)
    sale = make_sale(items=items, payments=payments, customer=Customer(name="Nama Pelanggan " * 8),
                     cashier=User(username="x", full_name="Kasir Dengan Nama Yang Sangat Panjang " * 3),
                     status="voided", void_reason="alasan " * 36, note="catatan " * 31,
                     service_charge_bp=1250, service_charge_idr=huge, tax_name="PPN", tax_rate_bp=1100,
                     tax_idr=huge, discount_idr=huge * 2, total_idr=huge * 9_999, refunded_idr=huge * 9_000)
    for is_copy in (False, True):
        lines = lines_of(sale, store, width=width, is_copy=is_copy)
        assert_fits(lines, width)
        assert any("12.345.678.900" in line for line in lines)
        assert any(line.endswith("Rp " + receipts.rupiah(huge * 9_999)) for line in lines)


def test_lines_have_no_trailing_spaces():
    lines = lines_of(make_sale(status="voided"), is_copy=True)
    assert all(line == line.rstrip() for line in lines)


# --- HTML and PDF ------------------------------------------------------------


def test_html_is_a_self_contained_page_with_the_same_lines():
    sale = make_sale(items=[make_item("Es Teh", qty=2, unit_price_idr=4_000)])
    page = receipts.render_html(sale, make_store(), 58, False, JAKARTA)
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page and "58mm" in page
    assert "<link" not in page and "<script" not in page and "src=" not in page
    for line in lines_of(sale, width=58):
        assert html.escape(line, quote=False) in page


def test_html_escapes_what_people_typed():
    evil = '<script>alert("x")</script> & <b>'
    sale = make_sale(items=[make_item(evil)], customer=Customer(name="<img src=x onerror=alert(1)>"))
    page = receipts.render_html(sale, make_store(receipt_footer="</pre><h1>hi</h1>"), 80, False, JAKARTA)
    assert "<script>" not in page and "<img" not in page and "<h1>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page and "&lt;/pre&gt;" in page


@pytest.mark.parametrize("width", [58, 80])
def test_pdf_is_one_narrow_page_with_the_receipts_text(width):
    sale = make_sale(items=[make_item(LONG_NAME, qty=3, unit_price_idr=35_000)])
    pdf = receipts.render_pdf(sale, make_store(), width, True, JAKARTA)
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page_width_mm = float(reader.pages[0].mediabox.width) / 72 * 25.4
    assert page_width_mm == pytest.approx(width, abs=0.1)
    text = reader.pages[0].extract_text()
    for expected in ("S-20261126-0001", "Rp 105.000", "SALINAN / COPY", "Kembali"):
        assert expected in text
