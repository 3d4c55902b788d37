"""Signing in."""

from app.auth.passwords import hash_password, needs_rehash, verify_password
from app.domain import AuthenticationFailed
from app.extensions import db
from app.models import utcnow
from app.users.models import User
from app.users.services import find_by_username


def authenticate(username: str, password: str) -> User:
    """The active user with these credentials; AuthenticationFailed otherwise.

    An unknown username costs the same hashing time as a wrong password, and
    both get the same answer, so usernames cannot be probed.
    """
    user = find_by_username(username)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AuthenticationFailed("Wrong username or password.")
    if not user.is_active:
        raise AuthenticationFailed("This account is deactivated; ask an admin.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user
