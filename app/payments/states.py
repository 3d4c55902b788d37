"""What Midtrans's transaction states mean for a payment attempt, and which changes are allowed.

From MIDTRANS.md: `settlement`, or `capture` with fraud `accept`, is paid;
`capture` with `challenge` is held for review; `deny`, `cancel`, `expire`,
`failure` are not paid; `refund`/`partial_refund` and chargebacks move money
back. Some methods go from `settlement` to `deny` later.

Transitions move forward only: a late `pending` after `settlement`, or a
duplicate, changes nothing. The one way back from paid is Midtrans itself
reporting (through the status API, never a notification alone) that the
payment was denied, refunded or charged back. And money is never ignored:
an attempt we closed ourselves (expired by the sweep, cancelled by staff)
still becomes paid if the status API says the customer paid it after all;
its order stays closed and the payment is flagged for a refund.
"""

OPEN = ("creating", "pending", "challenge")

# new status -> the statuses it may replace
ALLOWED_FROM = {
    "pending": ("creating",),
    "challenge": ("creating", "pending"),
    "paid": ("creating", "pending", "challenge", "expired", "cancelled"),
    "failed": ("creating", "pending", "challenge", "paid"),
    "expired": ("creating", "pending", "challenge"),
    "cancelled": ("creating", "pending", "challenge", "paid"),
    "partially_refunded": ("paid", "partially_refunded"),
    "refunded": ("paid", "partially_refunded"),
}


def attempt_status(transaction_status, fraud_status):
    """The attempt status for a Midtrans transaction_status / fraud_status, or None if it means nothing new."""
    if transaction_status == "settlement":
        return "paid"
    if transaction_status == "capture":
        return "challenge" if fraud_status == "challenge" else "failed" if fraud_status == "deny" else "paid"
    if transaction_status in ("pending", "authorize"):
        return "pending"
    if transaction_status in ("deny", "failure"):
        return "failed"
    if transaction_status == "cancel":
        return "cancelled"
    if transaction_status == "expire":
        return "expired"
    if transaction_status in ("refund", "chargeback"):
        return "refunded"
    if transaction_status in ("partial_refund", "partial_chargeback"):
        return "partially_refunded"
    return None


def may_move(current, new):
    return current in ALLOWED_FROM.get(new, ())
