"""Midtrans-shaped bodies: a transaction as the status API and the notifications show it.

The state machine (simulator/transactions.py) decides what a transaction is;
this module only writes it down the way Midtrans does.
"""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from simulator.notifications import sign

# Midtrans reports times in Jakarta local time, without an offset.
JAKARTA = ZoneInfo("Asia/Jakarta")

NOTIFICATION_MESSAGES = {
    "pending": "Success, transaction is created",
    "capture": "Success, Credit Card transaction is successful",
    "settlement": "Success, transaction is found",
    "deny": "Transaction is denied",
    "cancel": "Success, transaction is canceled",
    "expire": "Success, transaction is expired",
    "failure": "Transaction failed",
    "refund": "Success, refund request is approved",
    "partial_refund": "Success, refund request is approved",
}


def status_code_for(transaction_status: str, fraud_status: str | None) -> str:
    if transaction_status == "capture":
        return "201" if fraud_status == "challenge" else "200"
    return {
        "pending": "201", "settlement": "200", "deny": "202", "cancel": "200",
        "expire": "407", "failure": "202", "refund": "200", "partial_refund": "200",
    }[transaction_status]


def notification_status_code(transaction_status: str, fraud_status: str | None) -> str:
    # The status API says 407 for an expired transaction, the notification 202.
    if transaction_status == "expire":
        return "202"
    return status_code_for(transaction_status, fraud_status)


def midtrans_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, JAKARTA).strftime("%Y-%m-%d %H:%M:%S")


def amount_string(amount: int) -> str:
    return f"{amount}.00"


def not_found_body() -> dict:
    return {"status_code": "404", "status_message": "Transaction doesn't exist.",
            "id": str(uuid.uuid4())}


def status_body(row, refunds, config: dict) -> dict:
    status_code = status_code_for(row["transaction_status"], row["fraud_status"])
    return transaction_body(row, refunds, config, status_code, "Success, transaction is found")


def notification_body(row, refunds, config: dict) -> dict:
    status_code = notification_status_code(row["transaction_status"], row["fraud_status"])
    return transaction_body(row, refunds, config, status_code, NOTIFICATION_MESSAGES[row["transaction_status"]])


def transaction_body(row, refunds, config: dict, status_code: str, status_message: str) -> dict:
    """A transaction as Midtrans shows it, in the status API and in notifications alike."""
    gross_amount = amount_string(row["gross_amount"])
    body = {
        "status_code": status_code,
        "status_message": status_message,
        "transaction_id": row["transaction_id"],
        "order_id": row["order_id"],
        "merchant_id": config["MERCHANT_ID"],
        "gross_amount": gross_amount,
        "currency": "IDR",
        "payment_type": row["payment_type"],
        "transaction_time": midtrans_time(row["transaction_time"]),
        "transaction_status": row["transaction_status"],
        "fraud_status": row["fraud_status"],
        "expiry_time": midtrans_time(row["expires_at"]),
        "signature_key": sign(row["order_id"], status_code, gross_amount,
                              config["SERVER_KEY"]),
    }
    if row["settlement_time"] is not None:
        body["settlement_time"] = midtrans_time(row["settlement_time"])
    body.update(_method_fields(row))
    if refunds:
        body["refund_amount"] = amount_string(sum(refund["amount"] for refund in refunds))
        body["refunds"] = [refund_entry(refund) for refund in refunds]
    return body


def refund_entry(refund) -> dict:
    return {
        "refund_chargeback_id": refund["refund_chargeback_id"],
        "refund_amount": amount_string(refund["amount"]),
        "created_at": midtrans_time(refund["created_at"]),
        "reason": refund["reason"] or "",
        "refund_key": refund["refund_key"],
    }


def _method_fields(row) -> dict:
    payment_type = row["payment_type"]
    if payment_type == "bank_transfer" and row["bank"] == "permata":
        return {"permata_va_number": row["va_number"]}
    if payment_type == "bank_transfer":
        return {"va_numbers": [{"bank": row["bank"], "va_number": row["va_number"]}]}
    if payment_type == "credit_card":
        fields = {"masked_card": "48111111-1114", "bank": "bni", "card_type": "credit",
                  "channel_response_code": "00", "channel_response_message": "Approved",
                  "eci": "05"}
        if row["transaction_status"] != "pending":
            fields["approval_code"] = row["transaction_id"][:13].replace("-", "")
        return fields
    if payment_type == "qris":
        return {"acquirer": "gopay"}
    return {}
