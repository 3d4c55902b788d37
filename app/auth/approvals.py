"""A supervisor's PIN at the till: approval for a cashier's void, refund or large discount.

Wrong PINs are counted per requesting user (the cashier at the till) in
Redis; after `MAX_FAILURES` in `WINDOW_SECONDS` that cashier's approvals are
refused (429) until the window passes, so a 4-digit PIN cannot be guessed at
the counter. The one guessing is locked, not the approver: counting per
approver let any cashier lock a supervisor's approvals for every till. A right
PIN does not clear the count, or one known PIN could reset it between guesses
at another approver's.
"""


from app.auth.passwords import hash_password, verify_password
from app.auth.policy import MANAGERS
from app.domain import Forbidden, TooManyAttempts
from app.extensions import redis_client
from app.users.services import find_by_username

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
_FAILURES_KEY = "approval-failures:"


def set_pin(user, pin):
    user.pin_hash = hash_password(pin)


def verify_approval(approval, action, *, requester):
    """The active manager who approved `requester`'s `action` with their PIN; else Forbidden or TooManyAttempts."""
    if not approval:
        raise Forbidden(f"A cashier needs a supervisor's approval to {action}.",
                        errors={"json": {"approval": ["Required: a supervisor's username and PIN."]}})
    key = f"{_FAILURES_KEY}{requester.id}"
    if int(redis_client.get(key) or 0) >= MAX_FAILURES:
        raise TooManyAttempts("Too many wrong PINs from your account; wait 15 minutes, "
                              "or ask a supervisor to do it from their own account.")
    approver = find_by_username(approval["username"])
    valid = verify_password(approver.pin_hash if approver else None, approval["pin"])
    if not valid or approver is None or not approver.is_active or approver.role not in MANAGERS:
        _count_failure(key)
        raise Forbidden("The approval was refused: wrong approver or PIN.",
                        errors={"json": {"approval": ["Not a supervisor's valid PIN."]}})
    return approver


def _count_failure(key):
    with redis_client.pipeline() as pipe:
        # The window starts at the first failure; NX keeps later ones from extending it.
        pipe.incr(key).expire(key, WINDOW_SECONDS, nx=True).execute()
