"""A supervisor's PIN at the till: approval for a cashier's void, refund or large discount.

Wrong PINs are counted per approver in Redis; after `MAX_FAILURES` in
`WINDOW_SECONDS` that approver's PIN is refused (429) until the window passes,
so a 4-digit PIN cannot be guessed at the counter.
"""

from flask_smorest import abort

from app.auth.passwords import hash_password, verify_password
from app.auth.policy import MANAGERS
from app.extensions import redis_client
from app.users.services import find_by_username

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
_FAILURES_KEY = "approval-failures:"


def set_pin(user, pin):
    user.pin_hash = hash_password(pin)


def verify_approval(approval, action):
    """The active supervisor or admin who approved `action` with their PIN; 403/429 otherwise."""
    if not approval:
        abort(403, message=f"A cashier needs a supervisor's approval to {action}.",
              errors={"json": {"approval": ["Required: a supervisor's username and PIN."]}})
    username = approval["username"].strip().lower()
    key = _FAILURES_KEY + username
    if int(redis_client.get(key) or 0) >= MAX_FAILURES:
        abort(429, message="Too many wrong PINs for this approver; wait 15 minutes or ask another supervisor.")
    approver = find_by_username(username)
    valid = verify_password(approver.pin_hash if approver else None, approval["pin"])
    if not valid or not approver.is_active or approver.role not in MANAGERS:
        failures = redis_client.incr(key)
        if failures == 1:
            redis_client.expire(key, WINDOW_SECONDS)
        abort(403, message="The approval was refused: wrong approver or PIN.",
              errors={"json": {"approval": ["Not a supervisor's valid PIN."]}})
    redis_client.delete(key)
    return approver
