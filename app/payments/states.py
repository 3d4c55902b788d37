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

from app.payments.models import AttemptStatus as A

# Not yet answered by Midtrans: what our own expiry and cancellation close.
UNANSWERED = (A.CREATING, A.PENDING)
OPEN = (*UNANSWERED, A.CHALLENGE)

# new status -> the statuses it may replace
ALLOWED_FROM = {
    A.PENDING: (A.CREATING,),
    A.CHALLENGE: (A.CREATING, A.PENDING),
    A.PAID: (A.CREATING, A.PENDING, A.CHALLENGE, A.EXPIRED, A.CANCELLED),
    A.FAILED: (A.CREATING, A.PENDING, A.CHALLENGE, A.PAID),
    A.EXPIRED: (A.CREATING, A.PENDING, A.CHALLENGE),
    A.CANCELLED: (A.CREATING, A.PENDING, A.CHALLENGE, A.PAID),
    A.PARTIALLY_REFUNDED: (A.PAID, A.PARTIALLY_REFUNDED),
    A.REFUNDED: (A.PAID, A.PARTIALLY_REFUNDED),
}


def attempt_status(transaction_status, fraud_status):
    """The attempt status for a Midtrans transaction_status / fraud_status, or None if it means nothing new."""
    # The literals on the left are Midtrans's vocabulary (MIDTRANS.md), not ours.
    if transaction_status == "settlement":
        return A.PAID
    if transaction_status == "capture":
        return A.CHALLENGE if fraud_status == "challenge" else A.FAILED if fraud_status == "deny" else A.PAID
    if transaction_status in ("pending", "authorize"):
        return A.PENDING
    if transaction_status in ("deny", "failure"):
        return A.FAILED
    if transaction_status == "cancel":
        return A.CANCELLED
    if transaction_status == "expire":
        return A.EXPIRED
    if transaction_status in ("refund", "chargeback"):
        return A.REFUNDED
    if transaction_status in ("partial_refund", "partial_chargeback"):
        return A.PARTIALLY_REFUNDED
    return None


def may_move(current, new):
    return current in ALLOWED_FROM.get(new, ())
