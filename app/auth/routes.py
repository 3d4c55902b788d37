"""Sign in, refresh, sign out, and who am I."""

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user, decode_token, get_jwt
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_smorest import Blueprint, abort
from jwt.exceptions import PyJWTError

from app.auth import tokens
from app.auth.approvals import set_pin
from app.auth.passwords import verify_password
from app.auth.policy import MANAGERS, STAFF, allow, any_token, public, refresh_token_required
from app.auth.schemas import AccessTokenOut, LoginIn, LoginOut, LogoutIn, PinIn
from app.auth.services import authenticate
from app.extensions import client_address, db, limiter
from app.users.schemas import PasswordChange, UserOut
from app.users.services import change_own_password, get_user, normalize_username

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Staff sign-in with JWT.")


def login_limit_key():
    """Failed sign-ins are counted per username and client address."""
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    username = normalize_username(username)[:64] if isinstance(username, str) else ""
    return f"login:{username}:{client_address()}"


def login_rate_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@blp.route("/login")
class Login(MethodView):
    @public
    @limiter.limit(
        login_rate_limit,
        key_func=login_limit_key,
        deduct_when=lambda response: response.status_code == 401,
        error_message="Too many failed sign-in attempts for this username; wait and try again.",
    )
    @blp.arguments(LoginIn)
    @blp.response(200, LoginOut)
    @blp.alt_response(401, description="Wrong username or password, or a deactivated account.")
    @blp.alt_response(429, description="Too many failed attempts for this username from this address.")
    def post(self, credentials):
        """Sign in with username and password"""
        user = authenticate(credentials["username"], credentials["password"])
        return {**tokens.issue_tokens(user), "user": user}


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
    @blp.arguments(PasswordChange)
    @blp.response(200, LoginOut)
    def post(self, body):
        """Change your own password; other sessions are signed out, new tokens are returned"""
        user = change_own_password(get_user(current_user.id), body["current_password"], body["new_password"])
        return {**tokens.issue_tokens(user), "user": user}


@blp.route("/pin")
class ApprovalPin(MethodView):
    @allow(*MANAGERS)
    @blp.arguments(PinIn)
    @blp.response(204)
    def put(self, body):
        """Set your approval PIN: what you type at a till to approve a cashier's void, refund or discount"""
        user = get_user(current_user.id)
        if not verify_password(user.password_hash, body["current_password"]):
            abort(422, message="The current password is wrong.", errors={"json": {"current_password": ["Wrong password."]}})
        set_pin(user, body["pin"])
        db.session.commit()
