"""Sign in, refresh, sign out, and who am I."""

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, decode_token, get_jwt
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from app.auth import tokens
from app.auth.approvals import set_pin
from app.auth.policy import MANAGERS, STAFF, allow, any_token, public, refresh_token_required
from app.auth.schemas import AccessTokenOut, LoginIn, LoginOut, LogoutIn, PinIn
from app.auth.services import authenticate
from app.extensions import client_address, db, limiter
from app.http import Blueprint
from app.users.schemas import PasswordChange, UserOut
from app.users.services import (
    WRONG_CURRENT_PASSWORD,
    change_own_password,
    confirm_password,
    get_user,
    normalize_username,
)

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Staff sign-in with JWT.")


def _login_username():
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    return normalize_username(username)[:64] if isinstance(username, str) else ""


def login_limit_key():
    """Failed sign-ins are counted per username and client address: one mistyping person locks only themselves."""
    return f"login:{_login_username()}:{client_address()}"


def login_username_key():
    """Failed sign-ins per username from any address: one account's password guessed from many addresses."""
    return f"login-username:{_login_username()}"


def login_address_key():
    """Failed sign-ins per address for any username: a few likely passwords tried on every account."""
    return f"login-address:{client_address()}"


def _config_limit(name):
    """A limit read from the app's config on every request, not fixed at import."""
    return lambda: current_app.config[name]


def _failed_sign_in(response):
    return response.status_code == 401


@blp.route("/login")
class Login(MethodView):
    @public
    @limiter.limit(
        _config_limit("LOGIN_RATE_LIMIT"),
        key_func=login_limit_key,
        deduct_when=_failed_sign_in,
        error_message="Too many failed sign-in attempts for this username; wait and try again.",
    )
    @limiter.limit(
        _config_limit("LOGIN_USERNAME_RATE_LIMIT"),
        key_func=login_username_key,
        deduct_when=_failed_sign_in,
        error_message="Too many failed sign-in attempts for this username; wait a few minutes and try again.",
    )
    @limiter.limit(
        _config_limit("LOGIN_ADDRESS_RATE_LIMIT"),
        key_func=login_address_key,
        deduct_when=_failed_sign_in,
        error_message="Too many failed sign-in attempts from this address; wait a few minutes and try again.",
    )
    @blp.arguments(LoginIn)
    @blp.response(200, LoginOut)
    @blp.alt_response(401, description="Wrong username or password, or a deactivated account.")
    @blp.alt_response(429, description="Too many failed attempts for this username or from this address.")
    def post(self, credentials):
        """Sign in with username and password"""
        user = authenticate(credentials["username"], credentials["password"])
        return {**tokens.issue_tokens(user), "user": user}


def _current_password_key():
    return f"current-password:{current_user.id}"


def _wrong_current_password(response):
    """Only a wrong current password counts: not a malformed body, nor a weak new password."""
    body = response.get_json(silent=True) if response.is_json else None
    fields = ((body or {}).get("errors") or {}).get("json") or {}
    return response.status_code == 422 and fields.get("current_password") == [WRONG_CURRENT_PASSWORD]


# A stolen access token must not become a way to guess the password behind it:
# one budget of wrong current passwords per user, for every view that asks for it.
current_password_limit = limiter.shared_limit(
    _config_limit("PASSWORD_CHANGE_RATE_LIMIT"),
    scope="current-password",
    key_func=_current_password_key,
    deduct_when=_wrong_current_password,
    error_message="Too many wrong current passwords; wait and try again.",
)


@blp.route("/refresh")
class Refresh(MethodView):
    @refresh_token_required
    @blp.response(200, AccessTokenOut)
    def post(self):
        """Get a new access token with a refresh token"""
        return tokens.issue_tokens(current_user, refresh=False)


@blp.route("/logout")
class Logout(MethodView):
    @any_token
    @blp.arguments(LogoutIn, required=False)
    @blp.response(204)
    def post(self, body):
        """Revoke the presented token, and the refresh token if one is given"""
        tokens.revoke(get_jwt())
        refresh_token = (body or {}).get("refresh_token")
        if refresh_token:
            try:
                payload = decode_token(refresh_token)
            except (JWTExtendedException, PyJWTError):
                payload = None
            if payload and payload.get("sub") == get_jwt()["sub"]:
                tokens.revoke(payload)
        db.session.commit()


@blp.route("/me")
class Me(MethodView):
    @allow(*STAFF)
    @blp.response(200, UserOut)
    def get(self):
        """The signed-in user"""
        return get_user(current_user.id)


@blp.route("/password")
class OwnPassword(MethodView):
    @allow(*STAFF)
    @current_password_limit
    @blp.arguments(PasswordChange)
    @blp.response(200, LoginOut)
    @blp.alt_response(429, description="Too many wrong current passwords for this user.")
    def post(self, body):
        """Change your own password; other sessions are signed out, new tokens are returned"""
        user = change_own_password(get_user(current_user.id), body["current_password"], body["new_password"])
        return {**tokens.issue_tokens(user), "user": user}


@blp.route("/pin")
class ApprovalPin(MethodView):
    @allow(*MANAGERS)
    @current_password_limit
    @blp.arguments(PinIn)
    @blp.response(204)
    @blp.alt_response(429, description="Too many wrong current passwords for this user.")
    def put(self, body):
        """Set your approval PIN: what you type at a till to approve a cashier's void, refund or discount"""
        user = get_user(current_user.id)
        confirm_password(user, body["current_password"])
        set_pin(user, body["pin"])
        db.session.commit()
