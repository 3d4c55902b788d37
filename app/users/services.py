"""Staff accounts: creation, changes and the rules that keep an admin around."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select

from app.auth.passwords import check_new_password, hash_password, verify_password
from app.domain import Conflict, Invalid
from app.extensions import db
from app.models import get_or_raise
from app.stores.models import Store, default_store
from app.users.models import ADMIN, User

# The answer to a wrong current password; the limit on guessing it counts exactly these (app/auth/routes.py).
WRONG_CURRENT_PASSWORD = "Wrong password."


def normalize_username(username: str) -> str:
    return username.strip().lower()


def find_by_username(username: str) -> User | None:
    return db.session.scalars(select(User).where(User.username == normalize_username(username))).first()


def users_query(q: str | None = None, role: str | None = None, is_active: bool | None = None) -> Select[User]:
    query = select(User).order_by(User.username)
    if q:
        # autoescape: '_' is a username character and '%' may be typed; both are searched for literally.
        term = q.strip().lower()
        query = query.where(
            or_(User.username.contains(term, autoescape=True), func.lower(User.full_name).contains(term, autoescape=True))
        )
    if role:
        query = query.where(User.role == role)
    if is_active is not None:
        query = query.where(User.is_active == is_active)
    return query


def get_user(user_id: int) -> User:
    return get_or_raise(User, user_id, "user")


def create_user(*, username: str, full_name: str, role: str, password: str, store: Store | None = None,
                weak_password_allowed: bool = False) -> User:
    """A new active user; raises WeakPassword for a guessable password unless `weak_password_allowed` (demo data)."""
    username = normalize_username(username)
    if find_by_username(username) is not None:
        raise Conflict(f"The username {username!r} is taken.", errors={"json": {"username": ["Already taken."]}})
    store = store or default_store()
    if not weak_password_allowed:
        check_new_password(password, field="password", personal=(username, full_name, store.name))
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=hash_password(password),
        store_id=store.id,
        is_active=True,
    )
    db.session.add(user)
    db.session.commit()
    return user


def _lock_active_admins() -> Sequence[int]:
    """Lock the active admins' rows so two admins demoting each other cannot both succeed."""
    return db.session.scalars(
        select(User.id).where(User.role == ADMIN, User.is_active.is_(True)).order_by(User.id).with_for_update()
    ).all()


def update_user(user_id: int, changes: Mapping[str, Any], *, actor_id: int) -> User:
    """Apply `changes` by the admin `actor_id`, who may not lock themselves out nor leave no admin."""
    user = get_user(user_id)
    if user.id == actor_id:
        _refuse_own_lockout(user, changes)
    loses_admin = user.role == ADMIN and user.is_active and (
        changes.get("role", ADMIN) != ADMIN or changes.get("is_active", True) is False
    )
    if loses_admin and _lock_active_admins() == [user.id]:
        raise Conflict("This is the last active admin; make another admin first.")
    if "full_name" in changes:
        user.full_name = changes["full_name"].strip()
    if "role" in changes:
        user.role = changes["role"]
    if "is_active" in changes and changes["is_active"] != user.is_active:
        user.is_active = changes["is_active"]
        if not user.is_active:
            user.revoke_tokens()
    db.session.commit()
    return user


def _refuse_own_lockout(user: User, changes: Mapping[str, Any]) -> None:
    """Deactivating or demoting oneself is another admin's call: a slip, or a stolen token, would lock the owner out."""
    if changes.get("is_active") is False:
        raise Conflict("You cannot deactivate your own account; another admin must do it.",
                       errors={"json": {"is_active": ["Not on your own account."]}})
    if changes.get("role", user.role) != user.role:
        raise Conflict("You cannot change your own role; another admin must do it.",
                       errors={"json": {"role": ["Not on your own account."]}})


def reset_password(user_id: int, new_password: str, *, actor_id: int) -> User:
    """An admin sets another user's new password; every token the user holds stops working."""
    user = get_user(user_id)
    if user.id == actor_id:
        # Resetting asks for no current password: on one's own account a stolen token would take it over.
        raise Conflict("Change your own password with POST /api/auth/password, which asks for the current one.")
    _check_new_password(user, new_password)
    user.password_hash = hash_password(new_password)
    user.revoke_tokens()
    db.session.commit()
    return user


def confirm_password(user: User, current_password: str) -> None:
    """Invalid unless `current_password` is the user's: what a stolen token alone cannot give."""
    if not verify_password(user.password_hash, current_password):
        raise Invalid("The current password is wrong.",
                      errors={"json": {"current_password": [WRONG_CURRENT_PASSWORD]}})


def change_own_password(user: User, current_password: str, new_password: str) -> User:
    confirm_password(user, current_password)
    _check_new_password(user, new_password)
    user.password_hash = hash_password(new_password)
    user.revoke_tokens()
    db.session.commit()
    return user


def _check_new_password(user: User, new_password: str) -> None:
    store = db.session.get_one(Store, user.store_id)
    check_new_password(new_password, field="new_password", personal=(user.username, user.full_name, store.name))
