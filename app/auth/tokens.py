"""JWTs: what they carry, how they are checked, and the Redis blocklist.

A token carries the user id (`sub`), the role at issue time (informational:
authorization reads the role from the database on every request) and the
user's `token_version`. Raising the version (password change, deactivation)
ends every token issued before; logout puts one token's `jti` on a Redis
blocklist until that token would have expired anyway.
"""

from datetime import datetime, timezone

from flask_jwt_extended import create_access_token, create_refresh_token

from app.extensions import db, jwt, redis_client
from app.users.models import User

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


@jwt.user_lookup_loader
def _load_user(header, payload):
    user = db.session.get(User, int(payload["sub"]))
    if user is None or not user.is_active or payload.get("ver") != user.token_version:
        return None
    return user
