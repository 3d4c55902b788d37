"""What Midtrans's transaction states mean for a payment attempt, and which moves are allowed (MIDTRANS.md)."""

import pytest

from app.payments.models import ATTEMPT_STATUSES
from app.payments.states import OPEN, attempt_status, may_move


@pytest.mark.parametrize("transaction_status, fraud_status, expected", [
    ("settlement", "accept", "paid"),
    ("settlement", None, "paid"),
    ("capture", "accept", "paid"),
    ("capture", None, "paid"),
    ("capture", "challenge", "challenge"),
    ("capture", "deny", "failed"),
    ("pending", "accept", "pending"),
    ("authorize", "accept", "pending"),
    ("deny", "deny", "failed"),
    ("deny", "accept", "failed"),
    ("failure", None, "failed"),
    ("cancel", "accept", "cancelled"),
    ("expire", "accept", "expired"),
    ("refund", "accept", "refunded"),
    ("chargeback", "accept", "refunded"),
    ("partial_refund", "accept", "partially_refunded"),
    ("partial_chargeback", "accept", "partially_refunded"),
    ("something_new", "accept", None),
    (None, None, None),
])
def test_attempt_status_of_each_midtrans_state(transaction_status, fraud_status, expected):
    assert attempt_status(transaction_status, fraud_status) == expected


def test_every_status_a_midtrans_state_maps_to_is_a_known_attempt_status():
    states = ["settlement", "capture", "pending", "authorize", "deny", "failure", "cancel", "expire", "refund",
              "chargeback", "partial_refund", "partial_chargeback"]
    mapped = {attempt_status(s, f) for s in states for f in ("accept", "challenge", "deny", None)}
    assert mapped <= set(ATTEMPT_STATUSES)


# (current, new) -> allowed. Everything not listed here is refused (checked below).
ALLOWED = {
    ("creating", "pending"),
    ("creating", "challenge"), ("pending", "challenge"),
    ("creating", "paid"), ("pending", "paid"), ("challenge", "paid"),
    # Closed by us (sweep, staff) but paid at Midtrans after all: the money is recorded.
    ("expired", "paid"), ("cancelled", "paid"),
    ("creating", "failed"), ("pending", "failed"), ("challenge", "failed"), ("paid", "failed"),
    ("creating", "expired"), ("pending", "expired"), ("challenge", "expired"),
    ("creating", "cancelled"), ("pending", "cancelled"), ("challenge", "cancelled"), ("paid", "cancelled"),
    ("paid", "partially_refunded"), ("partially_refunded", "partially_refunded"),
    ("paid", "refunded"), ("partially_refunded", "refunded"),
}


@pytest.mark.parametrize("current", ATTEMPT_STATUSES)
@pytest.mark.parametrize("new", ATTEMPT_STATUSES)
def test_may_move_allows_exactly_the_forward_moves(current, new):
    assert may_move(current, new) is ((current, new) in ALLOWED)


@pytest.mark.parametrize("final", ["paid", "failed", "expired", "cancelled", "refunded"])
def test_a_late_pending_never_moves_a_closed_attempt_back(final):
    assert not may_move(final, "pending")
    assert not may_move(final, "creating")


def test_nothing_leaves_refunded_and_a_paid_attempt_never_expires():
    assert not any(may_move("refunded", new) for new in ATTEMPT_STATUSES)
    assert not may_move("paid", "expired")
    assert not may_move("paid", "challenge")
    assert set(OPEN) == {"creating", "pending", "challenge"}
