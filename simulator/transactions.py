"""The Midtrans side of a payment: Snap orders, their core transaction, and
the moves between states, each with the notification Midtrans would send
(its body is built in simulator/bodies.py).

Every move is one SQLite transaction with a conditional UPDATE, so two
workers racing on the same order cannot both move it, and the notification
is written to the outbox in the same transaction as the state it describes.
"""

import json
import secrets
import sqlite3
import time
import uuid

from simulator import faults
from simulator.bodies import notification_body
from simulator.notifications import resolve_urls

# Choices offered on the payment page: key -> (payment_type, bank, label).
PAYMENT_METHODS = {
    "bca_va": ("bank_transfer", "bca", "BCA Virtual Account"),
    "bni_va": ("bank_transfer", "bni", "BNI Virtual Account"),
    "bri_va": ("bank_transfer", "bri", "BRI Virtual Account"),
    "permata_va": ("bank_transfer", "permata", "Permata Virtual Account"),
    "qris": ("qris", None, "QRIS"),
    "credit_card": ("credit_card", None, "Credit / debit card"),
    "gopay": ("gopay", None, "GoPay"),
    "shopeepay": ("shopeepay", None, "ShopeePay"),
}
PAYMENT_TYPES = {"bank_transfer", "qris", "credit_card", "gopay", "shopeepay"}
BANKS = ("bca", "bni", "bri", "permata")
VA_NUMBER_LENGTH = {"bca": 11, "bni": 16, "bri": 15, "permata": 18}
# Midtrans refunds cards and e-money through the API; a bank transfer cannot
# be refunded that way.
REFUNDABLE_PAYMENT_TYPES = {"credit_card", "gopay", "shopeepay", "qris"}

class LedgerError(Exception):
    pass


class UnknownTransaction(LedgerError):
    """No such order, or no core transaction yet (no method chosen)."""


class NotAllowed(LedgerError):
    """The transaction's state does not allow this move."""


class OrderIdTaken(LedgerError):
    pass


class InvalidRequest(LedgerError):
    pass


class Ledger:
    def __init__(self, store, config: dict, notifier):
        self.store = store
        self.config = config
        self.notifier = notifier

    # -- Snap --------------------------------------------------------------

    def create_snap(self, *, order_id, gross_amount, request_body, expires_at,
                    notify_override, notify_append, finish_url) -> str:
        token = str(uuid.uuid4())
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    "INSERT INTO snap_orders (order_id, token, gross_amount, request_json, "
                    "created_at, expires_at, notify_override_json, notify_append_json, "
                    "finish_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (order_id, token, gross_amount, json.dumps(request_body), time.time(),
                     expires_at, json.dumps(notify_override), json.dumps(notify_append),
                     finish_url),
                )
        except sqlite3.IntegrityError as exc:
            raise OrderIdTaken(order_id) from exc
        return token

    def find_by_token(self, token: str):
        row = self.store.query("SELECT order_id FROM snap_orders WHERE token = ?", (token,))
        return self.find(row[0]["order_id"]) if row else None

    def find(self, order_or_transaction_id: str):
        """The order, after expiring it if its time has passed."""
        with self.store.transaction() as conn:
            row = self._load(conn, order_or_transaction_id)
        self.notifier.wake()
        return row

    def refunds(self, order_id: str) -> list:
        return self.store.query(
            "SELECT * FROM refunds WHERE order_id = ? ORDER BY refund_chargeback_id", (order_id,))

    # -- moves -------------------------------------------------------------

    def choose_method(self, order_id: str, payment_type: str, bank: str | None = None):
        if payment_type not in PAYMENT_TYPES:
            raise InvalidRequest(f"unsupported payment_type {payment_type!r}")
        if payment_type == "bank_transfer":
            bank = bank or "bca"
            if bank not in BANKS:
                raise InvalidRequest(f"unsupported bank {bank!r}")
        else:
            bank = None
        with self.store.transaction() as conn:
            row = self._load(conn, order_id)
            if row is None:
                raise UnknownTransaction(order_id)
            if row["transaction_status"] is not None or row["expires_at"] <= time.time():
                raise NotAllowed(order_id)
            conn.execute(
                "UPDATE snap_orders SET transaction_id = ?, payment_type = ?, bank = ?, "
                "va_number = ?, transaction_status = 'pending', fraud_status = 'accept', "
                "transaction_time = ? WHERE order_id = ? AND transaction_status IS NULL",
                (str(uuid.uuid4()), payment_type, bank, _va_number(bank), time.time(), order_id),
            )
            row = self._notify(conn, order_id)
        self.notifier.wake()
        return row

    def pay(self, order_id: str, fraud_status: str = "accept"):
        def move(row):
            if row["transaction_status"] != "pending":
                return None
            if row["payment_type"] == "credit_card":
                return {"transaction_status": "capture", "fraud_status": fraud_status}
            return {"transaction_status": "settlement", "fraud_status": "accept",
                    "settlement_time": time.time()}
        if fraud_status not in ("accept", "challenge"):
            raise InvalidRequest("fraud_status must be accept or challenge")
        return self._move(order_id, move)

    def fail(self, order_id: str, transaction_status: str | None = None):
        if transaction_status not in (None, "deny", "failure"):
            raise InvalidRequest("transaction_status must be deny or failure")

        def move(row):
            challenged = row["transaction_status"] == "capture" and row["fraud_status"] == "challenge"
            if row["transaction_status"] != "pending" and not challenged:
                return None
            status = transaction_status or "deny"
            card = row["payment_type"] == "credit_card"
            return {"transaction_status": status,
                    "fraud_status": "deny" if card and status == "deny" else "accept"}
        return self._move(order_id, move)

    def expire(self, order_id: str):
        return self._move(order_id, lambda row: {"transaction_status": "expire"}
                          if row["transaction_status"] == "pending" else None)

    def cancel(self, order_id: str):
        return self._move(order_id, lambda row: {"transaction_status": "cancel"}
                          if row["transaction_status"] in ("pending", "capture", "authorize")
                          else None)

    def settle(self, order_id: str):
        return self._move(order_id, lambda row: {"transaction_status": "settlement",
                                                 "settlement_time": time.time()}
                          if (row["transaction_status"], row["fraud_status"]) == ("capture", "accept")
                          else None)

    def approve(self, order_id: str):
        return self._move(order_id, lambda row: {"fraud_status": "accept"}
                          if (row["transaction_status"], row["fraud_status"]) == ("capture", "challenge")
                          else None)

    def deny(self, order_id: str):
        return self._move(order_id, lambda row: {"transaction_status": "deny", "fraud_status": "deny"}
                          if (row["transaction_status"], row["fraud_status"]) == ("capture", "challenge")
                          else None)

    def refund(self, order_id: str, *, amount: int | None, refund_key: str | None,
               reason: str | None, any_payment_type: bool = False):
        """Returns (order row, refund row, created). A known refund_key returns
        the refund made the first time and changes nothing."""
        refund_key = refund_key or f"sim-{uuid.uuid4()}"
        with self.store.transaction() as conn:
            row = self._load(conn, order_id)
            if row is None or row["transaction_status"] is None:
                raise UnknownTransaction(order_id)
            earlier = conn.execute(
                "SELECT * FROM refunds WHERE order_id = ? AND refund_key = ?",
                (row["order_id"], refund_key)).fetchone()
            if earlier is not None:
                return row, earlier, False
            remaining = row["gross_amount"] - row["refunded_amount"]
            refundable = any_payment_type or row["payment_type"] in REFUNDABLE_PAYMENT_TYPES
            if row["transaction_status"] not in ("settlement", "partial_refund") or not refundable:
                raise NotAllowed(order_id)
            amount = remaining if amount is None else amount
            if amount > remaining:
                raise NotAllowed(order_id)
            cursor = conn.execute(
                "INSERT INTO refunds (order_id, refund_key, amount, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?)", (row["order_id"], refund_key, amount, reason, time.time()))
            status = "refund" if amount == remaining else "partial_refund"
            conn.execute(
                "UPDATE snap_orders SET refunded_amount = refunded_amount + ?, "
                "transaction_status = ? WHERE order_id = ?", (amount, status, row["order_id"]))
            row = self._notify(conn, row["order_id"])
            refund = conn.execute("SELECT * FROM refunds WHERE refund_chargeback_id = ?",
                                  (cursor.lastrowid,)).fetchone()
        self.notifier.wake()
        return row, refund, True

    def expire_token(self, order_id: str):
        """The customer walked away before choosing a method: the Snap page
        expires and, as on Midtrans, nothing is notified."""
        with self.store.transaction() as conn:
            updated = conn.execute(
                "UPDATE snap_orders SET expires_at = ? WHERE order_id = ? "
                "AND transaction_status IS NULL AND expires_at > ?",
                (time.time(), order_id, time.time())).rowcount
            if not updated:
                raise NotAllowed(order_id)
            return self._load(conn, order_id)

    def expire_due(self) -> None:
        """Expires pending payments whose time is up (run by the dispatcher)."""
        due = self.store.query(
            "SELECT order_id FROM snap_orders WHERE transaction_status = 'pending' "
            "AND expires_at <= ?", (time.time(),))
        for row in due:
            self.find(row["order_id"])

    def resend_latest(self, order_id: str) -> dict:
        with self.store.transaction() as conn:
            row = self._load(conn, order_id)
            latest = conn.execute(
                "SELECT * FROM notifications WHERE order_id = ? ORDER BY id DESC LIMIT 1",
                (order_id,)).fetchone()
            if row is None or latest is None:
                raise UnknownTransaction(order_id)
            body = json.loads(latest["body_json"])
            self.notifier.enqueue_deliveries(conn, latest["id"], order_id, body,
                                             self._notification_urls(row), faults.load(self.store))
        self.notifier.wake()
        return body

    # -- internals ---------------------------------------------------------

    def _move(self, order_id: str, move):
        with self.store.transaction() as conn:
            row = self._load(conn, order_id)
            if row is None or row["transaction_status"] is None:
                raise UnknownTransaction(order_id)
            changes = move(row)
            if changes is None:
                raise NotAllowed(order_id)
            assignments = ", ".join(f"{column} = ?" for column in changes)
            updated = conn.execute(
                f"UPDATE snap_orders SET {assignments} WHERE order_id = ? "
                "AND transaction_status = ?",
                (*changes.values(), row["order_id"], row["transaction_status"])).rowcount
            if not updated:
                raise NotAllowed(order_id)
            row = self._notify(conn, row["order_id"])
        self.notifier.wake()
        return row

    def _load(self, conn, order_or_transaction_id: str):
        row = conn.execute(
            "SELECT * FROM snap_orders WHERE order_id = ? OR transaction_id = ?",
            (order_or_transaction_id, order_or_transaction_id)).fetchone()
        if row is not None and row["transaction_status"] == "pending" \
                and row["expires_at"] <= time.time():
            conn.execute("UPDATE snap_orders SET transaction_status = 'expire' "
                         "WHERE order_id = ? AND transaction_status = 'pending'",
                         (row["order_id"],))
            row = self._notify(conn, row["order_id"])
        return row

    def _notify(self, conn, order_id: str):
        row = conn.execute("SELECT * FROM snap_orders WHERE order_id = ?", (order_id,)).fetchone()
        refunds = conn.execute("SELECT * FROM refunds WHERE order_id = ? "
                               "ORDER BY refund_chargeback_id", (order_id,)).fetchall()
        self.notifier.enqueue(conn, order_id, notification_body(row, refunds, self.config),
                              self._notification_urls(row), faults.load(self.store))
        return row

    def _notification_urls(self, row) -> list[str]:
        return resolve_urls(self.config["NOTIFICATION_URL"],
                            json.loads(row["notify_override_json"] or "[]"),
                            json.loads(row["notify_append_json"] or "[]"))


def _va_number(bank: str | None) -> str | None:
    if bank is None:
        return None
    length = VA_NUMBER_LENGTH[bank]
    return str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(length - 1))


def whole_rupiah(value) -> int | None:
    """An integer amount from JSON: ints, integral floats and digit strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
