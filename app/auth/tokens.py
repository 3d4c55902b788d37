"""JWTs: what they carry, how they are checked, and the Redis blocklist.

A token carries the user id (`sub`), the role at issue time (informational:
authorization reads the role from the database on every request) and the
user's `token_version`. Raising the version (password change, deactivation)
ends every token issued before. Every token must carry `exp` and `jti`.

Logout revokes a token until it would have expired anyway: a row in
`revoked_tokens` (durable) and a key on the Redis blocklist (the fast path,
one round trip per request). Redis may lose the blocklist (a restart without
persistence, a flush); the sentinel key `jwt:blocklist-loaded` says it was
loaded, and when it is missing the next check loads every unexpired
revocation from the table before answering.

`current_user` is a `Staff`: who is calling, as the database says now. It
is not the ORM row; a view that changes the user's own account loads it
(`users.services.get_user(current_user.id)`).
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete, select

from app.auth.models import RevokedToken
from app.driver_sql import DriverStatement
from app.extensions import db, jwt, redis_client
from app.models import utcnow

BLOCKLIST_PREFIX = "jwt:blocklist:"
# Outside the prefix, so no jti can collide with it.
BLOCKLIST_LOADED = "jwt:blocklist-loaded"


def issue_tokens(user, refresh=True):
    claims = {"role": user.role, "ver": user.token_version}
    tokens = {"access_token": create_access_token(identity=str(user.id), additional_claims=claims)}
    if refresh:
        tokens["refresh_token"] = create_refresh_token(identity=str(user.id), additional_claims={"ver": user.token_version})
    return tokens


def revoke(payload):
    """Revoke one decoded token until its own expiry, in the caller's transaction (the caller commits).

    The row is flushed before the Redis key is set, so a failing insert
    leaves no key; the key is set before the commit, so the token is
    refused from the moment the logout answers.
    """
    jti, expires = payload.get("jti"), payload.get("exp")
    if not jti or expires is None:
        return  # refused on every request anyway (`_must_expire_and_have_an_id`)
    expires_at = datetime.fromtimestamp(expires, timezone.utc)
    now = utcnow()
    if expires_at <= now:
        return
    if db.session.get(RevokedToken, jti) is None:
        db.session.add(RevokedToken(jti=jti, user_id=int(payload["sub"]), expires_at=expires_at))
        db.session.flush()
    redis_client.set(BLOCKLIST_PREFIX + jti, "1", ex=_seconds_left(expires_at, now))


def load_blocklist():
    """Put every unexpired revocation back on the Redis blocklist, then set the sentinel.

    Safe to run concurrently: each process writes the same keys with the
    same expiry, in one MULTI/EXEC, so the sentinel never appears without
    the keys it vouches for.
    """
    now = utcnow()
    rows = db.session.execute(
        select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at > now)
    ).all()
    pipeline = redis_client.pipeline(transaction=True)
    for jti, expires_at in rows:
        pipeline.set(BLOCKLIST_PREFIX + jti, "1", ex=_seconds_left(expires_at, now))
    pipeline.set(BLOCKLIST_LOADED, "1")
    pipeline.execute()
    return len(rows)


def purge_expired_revocations():
    """Delete revocations of tokens that have expired anyway (the beat schedule runs this)."""
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount  # type: ignore[attr-defined]  # DML gives a CursorResult


def _seconds_left(expires_at, now):
    return int((expires_at - now).total_seconds()) + 1


@jwt.token_in_blocklist_loader
def _is_revoked(header, payload):
    key = BLOCKLIST_PREFIX + str(payload.get("jti"))
    loaded, revoked = redis_client.mget(BLOCKLIST_LOADED, key)
    if loaded is None:
        load_blocklist()
        revoked = redis_client.get(key)
    return revoked is not None


@jwt.token_verification_loader
def _must_expire_and_have_an_id(header, payload):
    """flask-jwt-extended accepts a token without `exp` (it never expires) or `jti` (it cannot be revoked)."""
    return "exp" in payload and bool(payload.get("jti"))


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
