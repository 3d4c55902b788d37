"""Text cells made safe for a spreadsheet: never a formula, never a character the file cannot hold.

Product names, notes and usernames in an export were typed by staff or
imported from a shop's file; the person who opens the export trusts it. A
spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula
(and, through DDE, `=cmd|' /C calc'!A0` as a program), so such text is
neutralised as OWASP's CSV Injection page says: a single quote in front makes
it text. The triggers are OWASP's list (`=`, `+`, `-`, `@`, tab, carriage
return, line feed) with defusedcsv's `|` and `%`, which some spreadsheets
also read as the start of an expression.

Why not defusedcsv itself: it wraps only the csv module's writer (the XLSX
export needs the same rule, and its `_escape` is private), it leaves tab,
carriage return and line feed alone, and it rewrites `|` inside the text as
`\\|`. Numbers are not touched here: only `str` values are, so rupiah
amounts, quantities and negative stock deltas stay numbers.

The quote is written in XLSX too, where the cell is already typed as a
string and so never evaluated as it sits: OWASP ASVS 1.2.10 asks for the
escape in XLSX as well, because a person editing the cell or saving the
sheet as CSV makes the text a formula again. Both formats carry the same text.
"""

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
# Shown instead of a control character that XLSX cannot hold (an old row from before
# the API refused them): the reader sees that something unprintable was there.
REPLACEMENT = "\ufffd"


def safe_text(text: str) -> str:
    """`text` with control characters XLSX refuses replaced, and a quote in front if it would start a formula."""
    text = ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, text)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def safe_row(row: Iterable[Any]) -> list[Any]:
    """The row with every text cell made safe; numbers, dates and empty cells as they are."""
    return [safe_text(value) if isinstance(value, str) else value for value in row]
