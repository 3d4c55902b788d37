"""GET /snap/v4/redirection/{token}: the payment page a customer sees."""

import hashlib
import json
import logging
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for

from simulator.bodies import midtrans_time, status_code_for
from simulator.logs import log_event
from simulator.runtime import current
from simulator.transactions import PAYMENT_METHODS, LedgerError

bp = Blueprint("pages", __name__, url_prefix="/snap/v4/redirection")
log = logging.getLogger("simulator.pages")

METHOD_GROUPS = (
    ("Bank transfer (virtual account)", ("bca_va", "bni_va", "bri_va", "permata_va")),
    ("QRIS", ("qris",)),
    ("Card", ("credit_card",)),
    ("E-wallet", ("gopay", "shopeepay")),
)
RESULT_TEXT = {
    "settlement": ("Payment successful", "ok"),
    "capture": ("Payment successful", "ok"),
    "deny": ("Payment denied", "bad"),
    "failure": ("Payment failed", "bad"),
    "expire": ("Payment expired", "bad"),
    "cancel": ("Payment cancelled", "bad"),
    "refund": ("Payment refunded", "neutral"),
    "partial_refund": ("Payment partly refunded", "neutral"),
}


@bp.app_template_filter("rupiah")
def rupiah(amount) -> str:
    """10000 -> 'Rp 10.000' (Indonesian thousands separator)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(int(amount)):,}".replace(",", ".")


@bp.get("/<token>")
def show(token):
    row = _order(token)
    context = _context(row)
    status = row["transaction_status"]
    if status is None and row["expires_at"] <= time.time():
        return render_template("expired.html", **context)
    if status is None:
        return render_template("choose.html", groups=METHOD_GROUPS, methods=PAYMENT_METHODS,
                               **context)
    if status == "pending":
        return render_template("pending.html", **context)
    return render_template("result.html", **context)


@bp.post("/<token>/method")
def choose(token):
    row = _order(token)
    choice = PAYMENT_METHODS.get(request.form.get("method", ""))
    if choice is None:
        return redirect(url_for(".show", token=token, error="Choose a payment method"), 303)
    payment_type, bank, _ = choice
    try:
        current().ledger.choose_method(row["order_id"], payment_type, bank)
    except LedgerError:
        pass  # already chosen or expired: the page shows where it stands
    log_event(log, "page.method_chosen", order_id=row["order_id"], payment_type=payment_type,
              bank=bank)
    return redirect(url_for(".show", token=token), 303)


@bp.post("/<token>/action")
def act(token):
    row = _order(token)
    ledger = current().ledger
    action = request.form.get("action")
    try:
        if action == "pay":
            challenge = request.form.get("challenge") == "on"
            ledger.pay(row["order_id"], "challenge" if challenge else "accept")
        elif action == "fail":
            ledger.fail(row["order_id"])
        elif action == "expire" and row["transaction_status"] is None:
            ledger.expire_token(row["order_id"])
        elif action == "expire":
            ledger.expire(row["order_id"])
        else:
            abort(400)
    except LedgerError:
        pass  # a second click or a race with the control API: show the state
    log_event(log, "page.action", order_id=row["order_id"], action=action)
    return redirect(url_for(".show", token=token), 303)


def _order(token: str):
    row = current().ledger.find_by_token(token)
    if row is None:
        abort(404)
    return row


def _context(row) -> dict:
    request_body = json.loads(row["request_json"])
    status = row["transaction_status"]
    context = {
        "row": row,
        "token": row["token"],
        "order_id": row["order_id"],
        "gross_amount": row["gross_amount"],
        "items": request_body.get("item_details") or [],
        "customer": request_body.get("customer_details") or {},
        "expires_at": midtrans_time(row["expires_at"]),
        "method_label": _method_label(row),
        "error": request.args.get("error"),
        "finish_url": None,
        "qr_cells": _qr_cells(row["transaction_id"] or row["order_id"]),
    }
    if status is not None and status != "pending":
        context["result_title"], context["result_tone"] = RESULT_TEXT.get(
            status, (status, "neutral"))
        if status == "capture" and row["fraud_status"] == "challenge":
            context["result_title"], context["result_tone"] = ("Payment under review", "neutral")
    if row["finish_url"] and status is not None and status != "pending":
        context["finish_url"] = _finish_url(row)
    return context


def _finish_url(row) -> str:
    """The merchant's finish URL with the query Snap appends."""
    query = urlencode({
        "order_id": row["order_id"],
        "status_code": status_code_for(row["transaction_status"], row["fraud_status"]),
        "transaction_status": row["transaction_status"],
    })
    parts = urlsplit(row["finish_url"])
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=joined))


def _method_label(row) -> str | None:
    for payment_type, bank, label in PAYMENT_METHODS.values():
        if payment_type == row["payment_type"] and bank == row["bank"]:
            return label
    return None


def _qr_cells(seed: str, size: int = 25) -> list[tuple[int, int]]:
    """A QR-looking pattern (not a real code) that is stable per transaction."""
    bits = "".join(f"{byte:08b}" for byte in hashlib.sha512(seed.encode()).digest() * 2)
    cells = []
    for y in range(size):
        for x in range(size):
            finder = _in_finder(x, y, size)
            if finder is not None:
                if finder:
                    cells.append((x, y))
            elif bits[(y * size + x) % len(bits)] == "1":
                cells.append((x, y))
    return cells


def _in_finder(x: int, y: int, size: int) -> bool | None:
    for fx, fy in ((0, 0), (size - 7, 0), (0, size - 7)):
        if fx - 1 <= x <= fx + 7 and fy - 1 <= y <= fy + 7:
            dx, dy = x - fx, y - fy
            if not (0 <= dx <= 6 and 0 <= dy <= 6):
                return False
            ring = max(abs(dx - 3), abs(dy - 3))
            return ring != 2
    return None
