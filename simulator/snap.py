"""POST /snap/v1/transactions: Snap token creation with Midtrans's checks."""

import logging
import re
import time
from datetime import datetime

from flask import Blueprint, jsonify, request

from simulator import faults
from simulator.auth import has_server_key
from simulator.logs import log_event
from simulator.notifications import parse_url_header
from simulator.runtime import current
from simulator.transactions import OrderIdTaken, whole_rupiah

bp = Blueprint("snap", __name__)
log = logging.getLogger("simulator.snap")

ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9\-_~.]+$")
MAX_ORDER_ID_LENGTH = 50
MAX_ITEM_NAME_LENGTH = 50
DEFAULT_EXPIRY_SECONDS = 24 * 3600
MAX_EXPIRY_SECONDS = 7 * 24 * 3600
EXPIRY_UNITS = {"minute": 60, "hour": 3600, "day": 86400}

UNAUTHORIZED = {
    "error_messages": [
        "Access denied due to unauthorized transaction, please check client or server key",
        "Visit https://snap-docs.midtrans.com/#request-headers for more details",
    ]
}
OUTAGE_MESSAGE = "Sorry. Our system is recovering from unexpected issues. Please retry."


@bp.post("/snap/v1/transactions")
def create_transaction():
    simulator = current()
    switches = faults.load(simulator.store)
    if switches["snap_latency_ms"]:
        time.sleep(switches["snap_latency_ms"] / 1000)
    if switches["snap_error_status"]:
        return _simulated_error(switches["snap_error_status"])
    if not has_server_key(simulator.config["SERVER_KEY"]):
        log_event(log, "snap.unauthorized", remote=request.remote_addr)
        return jsonify(UNAUTHORIZED), 401

    body = request.get_json(silent=True)
    errors, order = validate(body, time.time())
    if errors:
        log_event(log, "snap.rejected", errors=len(errors))
        return jsonify({"error_messages": errors}), 400

    try:
        token = simulator.ledger.create_snap(
            order_id=order["order_id"],
            gross_amount=order["gross_amount"],
            request_body=body,
            expires_at=order["expires_at"],
            notify_override=parse_url_header(request.headers.get("X-Override-Notification")),
            notify_append=parse_url_header(request.headers.get("X-Append-Notification")),
            finish_url=order["finish_url"],
        )
    except OrderIdTaken:
        log_event(log, "snap.order_id_taken", order_id=order["order_id"])
        return jsonify({"error_messages": [
            "transaction_details.order_id has already been taken"]}), 400

    redirect_url = f"{simulator.config['PUBLIC_URL']}/snap/v4/redirection/{token}"
    # Only a token prefix is logged: the token opens the payment page.
    log_event(log, "snap.created", order_id=order["order_id"],
              gross_amount=order["gross_amount"], token_prefix=token[:8])
    return jsonify({"token": token, "redirect_url": redirect_url}), 201


def _simulated_error(status: int):
    message = OUTAGE_MESSAGE if status >= 500 else f"Simulated error (HTTP {status})."
    log_event(log, "snap.simulated_error", http_status=status)
    return jsonify({"error_messages": [message]}), status


def validate(body, now: float) -> tuple[list[str], dict]:
    """Returns (error_messages, order). Checks what Midtrans checks on create."""
    if not isinstance(body, dict) or not isinstance(body.get("transaction_details"), dict):
        return ["transaction_details is required"], {}
    details = body["transaction_details"]
    errors = []
    order_id = _order_id(details.get("order_id"), errors)
    gross_amount = _gross_amount(details.get("gross_amount"), errors)
    items_total = _items_total(body.get("item_details"), errors)
    if gross_amount is not None and items_total is not None and items_total != gross_amount:
        errors.append("transaction_details.gross_amount is not equal to the sum of item_details")
    expires_at = _expires_at(body.get("expiry"), now, errors)
    callbacks = body.get("callbacks")
    finish_url = callbacks.get("finish") if isinstance(callbacks, dict) else None
    if not isinstance(finish_url, str) or not finish_url:
        finish_url = None
    order = {"order_id": order_id, "gross_amount": gross_amount,
             "expires_at": expires_at, "finish_url": finish_url}
    return errors, order


def _order_id(value, errors) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        errors.append("transaction_details.order_id is required")
        return None
    if len(value) > MAX_ORDER_ID_LENGTH:
        errors.append("transaction_details.order_id too long")
    if not ORDER_ID_PATTERN.match(value):
        errors.append("transaction_details.order_id may only contain alphanumeric, "
                      "dash (-), underscore (_), tilde (~) and dot (.) characters")
    return value


def _gross_amount(value, errors) -> int | None:
    if value is None:
        errors.append("transaction_details.gross_amount is required")
        return None
    amount = whole_rupiah(value)
    if amount is None:
        errors.append("transaction_details.gross_amount must be a whole number "
                      "(IDR has no decimals)")
        return None
    if amount <= 0:
        errors.append("transaction_details.gross_amount must be greater than 0")
        return None
    return amount


def _items_total(items, errors) -> int | None:
    """Sum of price * quantity, or None when absent or an item is invalid."""
    if items is None:
        return None
    if not isinstance(items, list):
        errors.append("item_details must be an array")
        return None
    total, valid = 0, True
    for index, item in enumerate(items):
        field = f"item_details[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{field} must be an object")
            valid = False
            continue
        price = whole_rupiah(item.get("price"))
        quantity = whole_rupiah(item.get("quantity"))
        name = item.get("name")
        if price is None:
            errors.append(f"{field}.price is required and must be a whole number")
        if quantity is None or quantity < 1:
            errors.append(f"{field}.quantity is required and must be at least 1")
        if not isinstance(name, str) or not name:
            errors.append(f"{field}.name is required")
        elif len(name) > MAX_ITEM_NAME_LENGTH:
            errors.append("item_details Name too long")
        if price is None or quantity is None or quantity < 1:
            valid = False
            continue
        total += price * quantity
    return total if valid else None


def _expires_at(expiry, now: float, errors) -> float | None:
    if expiry is None:
        return now + DEFAULT_EXPIRY_SECONDS
    if not isinstance(expiry, dict):
        errors.append("expiry must be an object")
        return None
    unit = str(expiry.get("unit", "")).lower().rstrip("s")
    duration = whole_rupiah(expiry.get("duration"))
    if unit not in EXPIRY_UNITS:
        errors.append("expiry.unit must be one of minute, hour, day")
    if duration is None or duration <= 0:
        errors.append("expiry.duration must be a positive integer")
    start = _start_time(expiry.get("start_time"), now, errors)
    if unit not in EXPIRY_UNITS or duration is None or duration <= 0 or start is None:
        return None
    seconds = duration * EXPIRY_UNITS[unit]
    if seconds > MAX_EXPIRY_SECONDS:
        errors.append("expiry duration must not be longer than 7 days")
        return None
    return start + seconds


def _start_time(value, now: float, errors) -> float | None:
    if value in (None, ""):
        return now
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S %z").timestamp()
    except ValueError:
        errors.append("expiry.start_time must look like 2026-11-26 10:15:30 +0700")
        return None
