"""/_sim: the control API for tests and demos. No auth: it is a simulator."""

import json
import logging
from datetime import datetime

from flask import Blueprint, jsonify, request

from simulator import faults
from simulator.bodies import JAKARTA, midtrans_time
from simulator.logs import log_event
from simulator.runtime import current
from simulator.transactions import InvalidRequest, NotAllowed, UnknownTransaction, whole_rupiah

bp = Blueprint("control", __name__, url_prefix="/_sim")
log = logging.getLogger("simulator.control")
DISPATCHER_PASS_TIMEOUT = 10.0


@bp.errorhandler(UnknownTransaction)
def unknown(error):
    return jsonify({"error": f"unknown order_id or no payment method chosen yet: {error}"}), 404


@bp.errorhandler(NotAllowed)
def not_allowed(error):
    row = current().ledger.find(str(error))
    state = row["transaction_status"] if row is not None else None
    return jsonify({"error": "the transaction's state does not allow this",
                    "transaction_status": state}), 409


@bp.errorhandler(InvalidRequest)
def invalid(error):
    return jsonify({"error": str(error)}), 400


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@bp.post("/transactions/<order_id>/pay")
def pay(order_id):
    body = _body()
    ledger = current().ledger
    _ensure_method(order_id, body)
    return _answer("pay", ledger.pay(order_id, body.get("fraud_status") or "accept"))


@bp.post("/transactions/<order_id>/fail")
def fail(order_id):
    body = _body()
    _ensure_method(order_id, body)
    return _answer("fail", current().ledger.fail(order_id, body.get("transaction_status")))


@bp.post("/transactions/<order_id>/expire")
def expire(order_id):
    ledger = current().ledger
    row = _order(order_id)
    if row["transaction_status"] is None:
        # No method chosen: the Snap page expires and nothing is notified.
        ledger.expire_token(order_id)
        log_event(log, "control.expire_token", order_id=order_id)
        return jsonify({"order_id": order_id, "transaction_status": None,
                        "token_expired": True})
    return _answer("expire", ledger.expire(order_id))


@bp.post("/transactions/<order_id>/settle")
def settle(order_id):
    return _answer("settle", current().ledger.settle(order_id))


@bp.post("/transactions/<order_id>/refund")
def refund(order_id):
    body = _body()
    amount = body.get("amount")
    if amount is not None:
        amount = whole_rupiah(amount)
        if amount is None or amount <= 0:
            raise InvalidRequest("amount must be a whole number greater than 0")
    row, _, _ = current().ledger.refund(
        order_id, amount=amount, refund_key=body.get("refund_key"),
        reason=body.get("reason"), any_payment_type=True)
    return _answer("refund", row)


@bp.post("/transactions/<order_id>/resend")
def resend(order_id):
    body = current().ledger.resend_latest(order_id)
    log_event(log, "control.resend", order_id=order_id,
              transaction_status=body["transaction_status"])
    return jsonify(body)


@bp.get("/transactions/<order_id>")
def show(order_id):
    simulator = current()
    row = _order(order_id)
    return jsonify({
        "order_id": row["order_id"],
        "token": row["token"],
        "gross_amount": row["gross_amount"],
        "expires_at": midtrans_time(row["expires_at"]),
        "finish_url": row["finish_url"],
        "notification_override": json.loads(row["notify_override_json"] or "[]"),
        "notification_append": json.loads(row["notify_append_json"] or "[]"),
        "request": json.loads(row["request_json"]),
        "status": simulator.status_body(row) if row["transaction_status"] else None,
    })


@bp.get("/notifications")
def notifications():
    rows = _rows_for_order("SELECT * FROM notifications", "id")
    return jsonify({"notifications": [
        {"id": row["id"], "order_id": row["order_id"], "created_at": row["created_at"],
         "body": json.loads(row["body_json"])} for row in rows]})


@bp.get("/deliveries")
def deliveries():
    # The outbox is read first: a row leaves it only once its last attempt is
    # logged, so an attempt missing from `queued` is always in `deliveries`.
    queued = _rows_for_order("SELECT id, delivery_id, order_id, url, copy, attempt, due_at, "
                             "claimed_by IS NOT NULL AS in_flight FROM outbox", "due_at")
    rows = _rows_for_order("SELECT * FROM deliveries", "id")
    return jsonify({
        "deliveries": [_delivery(row) for row in rows],
        "queued": [dict(row) for row in queued],
    })


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def fault_switches():
    store = current().store
    if request.method == "DELETE" or (request.method == "POST" and _body().get("reset") is True):
        faults.clear(store)
    elif request.method == "POST":
        changes, errors = faults.validate(_body())
        if errors:
            return jsonify({"error": "invalid fault settings", "errors": errors}), 400
        faults.save(store, changes)
    current_faults = faults.load(store)
    if request.method != "GET":
        log_event(log, "control.faults", **current_faults)
    return jsonify(current_faults)


@bp.post("/dispatcher/pass")
def dispatcher_pass():
    """Answers once this process's dispatcher finished a pass begun after the
    request: a barrier for tests that check something was *not* notified."""
    passes = current().notifier.next_pass(timeout=DISPATCHER_PASS_TIMEOUT)
    if passes is None:
        return jsonify({"error": "the dispatcher did not finish a pass within "
                                 f"{DISPATCHER_PASS_TIMEOUT:g} s"}), 503
    return jsonify({"passes": passes})


@bp.post("/reset")
def reset():
    current().store.reset()
    log_event(log, "control.reset")
    return jsonify({"status": "reset"})


def _ensure_method(order_id: str, body: dict) -> None:
    """Pay or fail on a Snap order with no method yet: choose one first, as a
    customer would, which notifies `pending` like Midtrans."""
    row = _order(order_id)
    payment_type = body.get("payment_type")
    if row["transaction_status"] is None:
        current().ledger.choose_method(order_id, payment_type or "bank_transfer", body.get("bank"))
    elif payment_type and payment_type != row["payment_type"]:
        raise InvalidRequest(f"payment method already chosen: {row['payment_type']}")


def _order(order_id: str):
    row = current().ledger.find(order_id)
    if row is None:
        raise UnknownTransaction(order_id)
    return row


def _answer(action: str, row):
    log_event(log, f"control.{action}", order_id=row["order_id"],
              transaction_status=row["transaction_status"], fraud_status=row["fraud_status"])
    return jsonify(current().status_body(row))


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _rows_for_order(select: str, order_by: str):
    order_id = request.args.get("order_id")
    if order_id:
        return current().store.query(f"{select} WHERE order_id = ? ORDER BY {order_by}",
                                     (order_id,))
    return current().store.query(f"{select} ORDER BY {order_by}")


def _delivery(row) -> dict:
    delivery = dict(row)
    for field in ("started_at", "finished_at", "next_attempt_at"):
        delivery[f"{field}_unix"] = row[field]
        delivery[field] = None if row[field] is None else datetime.fromtimestamp(
            row[field], JAKARTA).isoformat(timespec="milliseconds")
    return delivery
