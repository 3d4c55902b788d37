"""JWTs: what they carry, how they are checked, and the Redis blocklist.

A token carries the user id (`sub`), the role at issue time (informational:
authorization reads the role from the database on every request) and the
user's `token_version`. Raising the version (password change, deactivation)
ends every token issued before; logout puts one token's `jti` on a Redis
blocklist until that token would have expired anyway.

`current_user` is a `Staff`: who is calling, as the database says now. It
is not the ORM row; a view that changes the user's own account loads it
(`users.services.get_user(current_user.id)`).
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from flask_jwt_extended import create_access_token, create_refresh_token

from app.driver_sql import DriverStatement
from app.extensions import jwt, redis_client

BLOCKLIST_PREFIX = "jwt:blocklist:"


def issue_tokens(user, refresh=True):
    claims = {"role": user.role, "ver": user.token_version}
    tokens = {"access_token": create_access_token(identity=str(user.id), additional_claims=claims)}
    if refresh:
        tokens["refresh_token"] = create_refresh_token(identity=str(user.id), additional_claims={"ver": user.token_version})
    return tokens


def revoke(payload):
    """Blocklist one decoded token until its own expiry."""
    seconds_left = int(payload["exp"] - datetime.now(timezone.utc).timestamp())
    if seconds_left > 0:
        redis_client.set(BLOCKLIST_PREFIX + payload["jti"], "1", ex=seconds_left + 1)


@jwt.token_in_blocklist_loader
def _is_revoked(header, payload):
    return redis_client.exists(BLOCKLIST_PREFIX + payload["jti"]) == 1


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in user of this request."""

    id: int
    store_id: int
    username: str
    full_name: str
    role: str
    token_version: int


# Every authenticated request runs this: a plain statement, not an ORM load.
_ACTIVE_USER = DriverStatement(
    "SELECT id, store_id, username, full_name, role, token_version FROM users WHERE id = :id AND is_active"
)


@jwt.user_lookup_loader
def _load_user(header, payload):
    row = _ACTIVE_USER.first({"id": int(payload["sub"])})
    if row is None:
        return None
    staff = Staff(*row)
    return staff if payload.get("ver") == staff.token_version else None
