"""Core API: GET /v2/{id}/status and POST /v2/{id}/cancel|expire|refund|approve|deny."""

import logging
import time
import uuid

from flask import Blueprint, jsonify, request

from simulator import faults
from simulator.auth import has_server_key
from simulator.bodies import amount_string, midtrans_time, not_found_body
from simulator.logs import log_event
from simulator.runtime import current
from simulator.transactions import InvalidRequest, NotAllowed, UnknownTransaction, whole_rupiah

bp = Blueprint("core", __name__, url_prefix="/v2")
log = logging.getLogger("simulator.core")


@bp.before_request
def require_server_key():
    if not has_server_key(current().config["SERVER_KEY"]):
        log_event(log, "core.unauthorized", path=request.path)
        return jsonify({
            "status_code": "401",
            "status_message": "Access denied due to unauthorized transaction, "
                              "please check client or server key",
            "id": str(uuid.uuid4()),
        }), 401
    return None


@bp.errorhandler(UnknownTransaction)
def unknown_transaction(error):
    return jsonify(not_found_body()), 404


@bp.errorhandler(NotAllowed)
def not_allowed(error):
    return jsonify({
        "status_code": "412",
        "status_message": "Merchant cannot modify the status of the transaction",
        "id": str(uuid.uuid4()),
    }), 412


@bp.errorhandler(InvalidRequest)
def invalid_request(error):
    return jsonify({"status_code": "400", "status_message": "One or more parameters in the "
                    "payload is invalid.", "validation_messages": [str(error)],
                    "id": str(uuid.uuid4())}), 400


@bp.get("/<transaction_id>/status")
def status(transaction_id):
    simulator = current()
    latency = faults.load(simulator.store)["status_latency_ms"]
    if latency:
        time.sleep(latency / 1000)
    row = simulator.ledger.find(transaction_id)
    if row is None or row["transaction_status"] is None:
        # Midtrans answers HTTP 200 and says 404 in the body until the
        # customer picks a method on the Snap page.
        return jsonify(not_found_body()), 200
    return jsonify(simulator.status_body(row)), 200


@bp.post("/<transaction_id>/cancel")
def cancel(transaction_id):
    row = current().ledger.cancel(transaction_id)
    return _action_answer(row, "200", "Success, transaction is canceled", "cancel")


@bp.post("/<transaction_id>/expire")
def expire(transaction_id):
    row = current().ledger.expire(transaction_id)
    return _action_answer(row, "407", "Success, transaction has expired", "expire")


@bp.post("/<transaction_id>/approve")
def approve(transaction_id):
    row = current().ledger.approve(transaction_id)
    return _action_answer(row, "200", "Success, transaction is approved", "approve")


@bp.post("/<transaction_id>/deny")
def deny(transaction_id):
    row = current().ledger.deny(transaction_id)
    return _action_answer(row, "200", "Success, transaction is denied", "deny")


@bp.post("/<transaction_id>/refund")
def refund(transaction_id):
    body = request.get_json(silent=True) or {}
    amount = body.get("amount")
    if amount is not None:
        amount = whole_rupiah(amount)
        if amount is None or amount <= 0:
            raise InvalidRequest("amount must be a whole number greater than 0")
    row, refund_row, created = current().ledger.refund(
        transaction_id, amount=amount, refund_key=body.get("refund_key"),
        reason=body.get("reason"))
    log_event(log, "core.refund", order_id=row["order_id"], amount=refund_row["amount"],
              refund_key=refund_row["refund_key"], created=created)
    return jsonify({
        "status_code": "200",
        "status_message": "Success, refund request is approved",
        "transaction_id": row["transaction_id"],
        "order_id": row["order_id"],
        "gross_amount": amount_string(row["gross_amount"]),
        "currency": "IDR",
        "payment_type": row["payment_type"],
        "transaction_time": midtrans_time(row["transaction_time"]),
        "transaction_status": row["transaction_status"],
        "refund_chargeback_id": refund_row["refund_chargeback_id"],
        "refund_amount": amount_string(refund_row["amount"]),
        "refund_key": refund_row["refund_key"],
    }), 200


def _action_answer(row, status_code: str, status_message: str, action: str):
    log_event(log, f"core.{action}", order_id=row["order_id"],
              transaction_status=row["transaction_status"])
    body = current().status_body(row)
    body.update(status_code=status_code, status_message=status_message)
    body.pop("signature_key", None)  # action answers are not signed
    return jsonify(body), 200
