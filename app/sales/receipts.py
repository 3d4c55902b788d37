"""The receipt (struk): one layout, printed as text, HTML or PDF.

Everything here is a pure function of a sale and its store, so the layout
can be checked without a database. The text layout is the source of truth:
HTML and PDF print the same lines, so what a thermal printer, a browser and
a PDF viewer show cannot drift apart.

Thermal printers print a fixed number of characters per line (32 on 58 mm
paper, 48 on 80 mm) and wrap or cut anything longer in ugly ways, so no
line may ever be longer than the width.
"""

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from app.sales.statuses import SaleStatus, Tender

COLUMNS = {58: 32, 80: 48}  # paper width in mm -> characters per line
FORMATS = ("text", "html", "pdf")
TENDER_LABELS = {Tender.CASH: "Tunai", Tender.CARD: "Kartu", Tender.QRIS: "QRIS", Tender.TRANSFER: "Transfer"}
COPY_MARKER = "*** SALINAN / COPY ***"
VOID_BANNER = "*** VOID / DIBATALKAN ***"
DEFAULT_FOOTER = "Terima kasih"
DATE_FORMAT = "%d/%m/%Y %H:%M"


@dataclass(frozen=True)
class ReceiptLine:
    text: str
    strong: bool = False  # printed bold in HTML and PDF (the total, banners)


# Formatting


def rupiah(amount):
    """12345678 -> '12.345.678' (Indonesian thousands separator)."""
    sign = "-" if amount < 0 else ""
    return sign + f"{abs(amount):,}".replace(",", ".")


def rupiah_with_symbol(amount):
    return f"Rp {rupiah(amount)}"


def percent(rate_bp):
    """Basis points as an Indonesian percent: 1100 -> '11%', 1250 -> '12,5%'."""
    whole, fraction = divmod(rate_bp, 100)
    if not fraction:
        return f"{whole}%"
    return f"{whole},{fraction:02d}".rstrip("0") + "%"


# Layout primitives: each returns lines no longer than `width`


def wrap(text, width):
    """Words onto lines of at most `width`; a word is split only when it alone is too long.

    Line breaks the shop typed (in a header or footer) are kept.
    """
    lines = []
    for paragraph in (text or "").splitlines():
        lines += textwrap.wrap(paragraph, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def centered(text, width):
    return [line.center(width).rstrip() for line in wrap(text, width)]


def columns(left, right, width):
    """`left` and `right` on one line when they fit with a space between, else right on a line of its own."""
    if len(left) + 1 + len(right) <= width:
        return [left + right.rjust(width - len(left))]
    right_lines = [line.rjust(width) for line in wrap(right, width)]
    return wrap(left, width) + right_lines


_LABEL_WIDTH = len("Pelanggan")


def labelled(label, value, width):
    """'Kasir    : Budi', the value's further lines indented under its first."""
    prefix = f"{label:<{_LABEL_WIDTH}}: "
    return textwrap.wrap(value, width, initial_indent=prefix, subsequent_indent=" " * len(prefix),
                         break_long_words=True, break_on_hyphens=False) or [prefix.rstrip()]


def _rows(texts, strong=False):
    return [ReceiptLine(text, strong) for text in texts]


# The receipt's sections


def _header(sale, store, width, is_copy):
    rows = _rows(centered(COPY_MARKER, width), strong=True) if is_copy else []
    rows += _rows(centered(store.name, width), strong=True)
    if store.address:
        rows += _rows(centered(store.address, width))
    if store.phone:
        rows += _rows(centered(f"Telp: {store.phone}", width))
    if store.tax_id:
        rows += _rows(centered(f"NPWP: {store.tax_id}", width))
    if store.receipt_header:
        rows += _rows(centered(store.receipt_header, width))
    return rows


def _void_banner(sale, width):
    if sale.status != SaleStatus.VOIDED:
        return []
    rows = _rows(centered(VOID_BANNER, width), strong=True)
    if sale.void_reason:
        rows += _rows(wrap(f"Alasan: {sale.void_reason}", width))
    return rows


def _person_name(person):
    return getattr(person, "full_name", None) or getattr(person, "username", None) or "-"


def _sale_facts(sale, width, tz):
    facts = [
        ("No", sale.number),
        ("Tanggal", sale.created_at.astimezone(tz).strftime(DATE_FORMAT)),
        ("Kasir", _person_name(sale.cashier)),
    ]
    if sale.customer is not None:
        facts.append(("Pelanggan", sale.customer.name))
    rows = []
    for label, value in facts:
        rows += _rows(labelled(label, value, width))
    return rows


def _item(item, width):
    rows = _rows(wrap(item.name, width))
    gross = item.unit_price_idr * item.qty
    rows += _rows(columns(f"  {item.qty} x {rupiah(item.unit_price_idr)}", rupiah(gross), width))
    if item.line_discount_idr:
        rows += _rows(columns("  Diskon", rupiah(-item.line_discount_idr), width))
    if item.refunded_qty:
        rows += _rows(columns(f"  Retur {item.refunded_qty}", rupiah(-item.refunded_idr), width))
    return rows


def _tax_label(sale):
    return f"{sale.tax_name or 'Pajak'} {percent(sale.tax_rate_bp)}"


def _totals(sale, width):
    rows = _rows(columns("Subtotal", rupiah(sale.subtotal_idr), width))
    if sale.discount_idr:
        rows += _rows(columns("Diskon", rupiah(-sale.discount_idr), width))
    if sale.service_charge_bp:
        rows += _rows(columns(f"Service {percent(sale.service_charge_bp)}", rupiah(sale.service_charge_idr), width))
    # Exclusive tax is part of the sum above the total; inclusive tax is
    # already inside the prices, so it is shown after the total, not added.
    if sale.tax_rate_bp and not sale.tax_inclusive:
        rows += _rows(columns(_tax_label(sale), rupiah(sale.tax_idr), width))
    rows += _rows(columns("TOTAL", rupiah_with_symbol(sale.total_idr), width), strong=True)
    if sale.tax_rate_bp and sale.tax_inclusive:
        rows += _rows(columns(f"termasuk {_tax_label(sale)}", rupiah(sale.tax_idr), width))
    return rows


def _tenders(sale, width):
    rows = []
    for payment in sale.payments:
        rows += _rows(columns(TENDER_LABELS.get(payment.method, payment.method), rupiah(payment.amount_idr), width))
        if payment.reference:
            rows += _rows(wrap(f"  Ref: {payment.reference}", width))
    rows += _rows(columns("Kembali", rupiah(sale.change_idr), width))
    return rows


def _refunds(sale, width):
    if not sale.refunded_idr:
        return []
    return _rows(
        columns("Retur/Refund", rupiah(-sale.refunded_idr), width)
        + columns("Total setelah retur", rupiah(sale.total_idr - sale.refunded_idr), width)
    )


def _footer(sale, store, width):
    rows = _rows(wrap(f"Catatan: {sale.note}", width)) if sale.note else []
    return rows + _rows(centered(store.receipt_footer or DEFAULT_FOOTER, width))


def receipt_rows(sale, store, width, is_copy, tz):
    """The receipt as `ReceiptLine`s for paper `width` (58 or 80 mm)."""
    columns_count = COLUMNS[width]
    rule = [ReceiptLine("-" * columns_count)]
    double_rule = [ReceiptLine("=" * columns_count)]
    rows = _header(sale, store, columns_count, is_copy) + double_rule
    rows += _void_banner(sale, columns_count)
    rows += _sale_facts(sale, columns_count, tz) + rule
    for item in sale.items:
        rows += _item(item, columns_count)
    rows += rule + _totals(sale, columns_count) + rule + _tenders(sale, columns_count)
    refunds = _refunds(sale, columns_count)
    if refunds:
        rows += rule + refunds
    rows += double_rule
    # Repeated at the bottom: a torn-off voided struk must still say so.
    rows += _void_banner(sale, columns_count)
    rows += _footer(sale, store, columns_count)
    return rows


def receipt_lines(sale, store, width, is_copy, tz):
    """The receipt as plain lines, each at most 32 (58 mm) or 48 (80 mm) characters."""
    return [row.text for row in receipt_rows(sale, store, width, is_copy, tz)]


def render_text(sale, store, width, is_copy, tz):
    return "\n".join(receipt_lines(sale, store, width, is_copy, tz)) + "\n"


# HTML

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

# Monospace characters 1.5 mm wide fill the printable width of both papers
# (32 x 1.5 = 48 mm of 58; 48 x 1.5 = 72 mm of 80); 1.5 mm / 0.6 em = 2.5 mm.
_PRINT_FONT_MM = 2.5


def render_html(sale, store, width, is_copy, tz):
    """A self-contained printable page (no external CSS, fonts or scripts)."""
    rows = receipt_rows(sale, store, width, is_copy, tz)
    return _templates.get_template("receipt.html").render(
        rows=rows,
        title=f"Struk {sale.number}",
        paper_mm=width,
        columns=COLUMNS[width],
        font_mm=_PRINT_FONT_MM,
    )


# PDF

_PDF_FONT = "Courier"  # a PDF base font: every viewer has it, nothing to embed
_PDF_BOLD_FONT = "Courier-Bold"
_PDF_FONT_PT = 7  # Courier is 0.6 em wide: 7 pt -> 4.2 pt a character, fits both papers
_PDF_LEADING_PT = 8.5
_PDF_MARGIN_PT = 4 * mm


def render_pdf(sale, store, width, is_copy, tz):
    """One page `width` mm wide and as tall as the receipt."""
    rows = receipt_rows(sale, store, width, is_copy, tz)
    page_width = width * mm
    page_height = 2 * _PDF_MARGIN_PT + len(rows) * _PDF_LEADING_PT
    text_width = COLUMNS[width] * 0.6 * _PDF_FONT_PT
    left = (page_width - text_width) / 2

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(page_width, page_height), pageCompression=1)
    pdf.setTitle(f"Struk {sale.number}")
    pdf.setAuthor(store.name)
    baseline = page_height - _PDF_MARGIN_PT - _PDF_FONT_PT
    for row in rows:
        pdf.setFont(_PDF_BOLD_FONT if row.strong else _PDF_FONT, _PDF_FONT_PT)
        pdf.drawString(left, baseline, row.text)
        baseline -= _PDF_LEADING_PT
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
