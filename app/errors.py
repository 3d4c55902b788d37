"""One error shape for every failure: `{code, status, message, errors?}`.

flask-smorest already answers HTTP errors (404, 405, 422 ...) in this shape;
here the rest is brought into line: the domain errors services raise
(app/domain.py, each mapped to its status by `STATUS` below), authentication
failures from flask-jwt-extended, an unavailable Redis or database (503), and
anything unexpected (500, logged with its traceback, never shown to the caller).
"""

import logging
from http import HTTPStatus

import redis
from flask import jsonify
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from app import domain

log = logging.getLogger(__name__)


def error_response(code, message, errors=None):
    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = code
    return response


# The one place a domain error gets its HTTP status; subclasses take their base's.
STATUS = {
    domain.Malformed: 400,
    domain.AuthenticationFailed: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Gone: 410,
    domain.TooLarge: 413,
    domain.Invalid: 422,
    domain.TooManyAttempts: 429,
    domain.Unavailable: 503,
}


def status_of(error_class):
    """The HTTP status of a DomainError class: its own entry in STATUS or its nearest base's; None if none."""
    return next((STATUS[base] for base in error_class.__mro__ if base in STATUS), None)


def register_error_handlers(app):
    @app.errorhandler(domain.DomainError)
    def domain_error(error):
        code = status_of(type(error))
        if code is None:
            log.error("domain_error_without_status error=%s", type(error).__name__)
            return error_response(500, "Internal error; it has been logged.")
        response = error_response(code, error.message, error.errors)
        if getattr(error, "retry_after", None) is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(redis.exceptions.ConnectionError)
    @app.errorhandler(redis.exceptions.TimeoutError)
    def redis_unavailable(error):
        log.error("redis_unavailable error=%s", type(error).__name__)
        return error_response(503, "A required service (Redis) is unavailable; try again shortly.")

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        log.error("database_unavailable error=%s", type(error).__name__)
        return error_response(503, "The database is unavailable; try again shortly.")

    @app.errorhandler(DataError)
    def value_not_storable(error):
        # A value the database cannot hold, which the schemas let through: bad input,
        # refused without touching anything. The message says which kind of value.
        from app.extensions import db

        db.session.rollback()
        sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
        log.info("data_error_refused error=%s sqlstate=%s", type(getattr(error, "orig", error)).__name__, sqlstate)
        return error_response(422, _data_error_message(error, sqlstate))

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return error_response(error.code or 500, error.description or HTTPStatus(error.code or 500).phrase)
        log.exception("unhandled_error error=%s", type(error).__name__)
        return error_response(500, "Internal error; it has been logged.")


# PostgreSQL's SQLSTATEs of class 22 (data exception) that input can cause.
_DATA_ERRORS = {
    "22003": "A number in the request is out of range.",
    "22001": "A text in the request is longer than the database allows.",
    "22007": "A date or time in the request is not valid.",
    "22008": "A date or time in the request is out of range.",
    "22021": "A text in the request has a character the database cannot store.",
    "22P05": "A text in the request has a character the database cannot store.",
}


def _data_error_message(error, sqlstate):
    if sqlstate in _DATA_ERRORS:
        return _DATA_ERRORS[sqlstate]
    # psycopg refuses NUL itself, before PostgreSQL sees it, so there is no SQLSTATE.
    if "NUL" in str(getattr(error, "orig", "")):
        return "A text in the request contains a NUL character (\\u0000), which cannot be stored."
    return f"A value in the request cannot be stored ({sqlstate or 'invalid value'})."


def register_jwt_handlers(jwt):
    """flask-jwt-extended's failures, all 401 in the common shape."""

    @jwt.unauthorized_loader
    def missing_token(reason):
        return error_response(401, f"Authentication required: {reason}.")

    @jwt.invalid_token_loader
    def invalid_token(reason):
        return error_response(401, f"Invalid token: {reason}.")

    @jwt.expired_token_loader
    def expired_token(header, payload):
        return error_response(401, "The token has expired; sign in again or refresh it.")

    @jwt.revoked_token_loader
    def revoked_token(header, payload):
        return error_response(401, "The token has been revoked; sign in again.")

    @jwt.user_lookup_error_loader
    def user_gone(header, payload):
        return error_response(401, "The account behind this token is no longer active or its password changed.")

    @jwt.needs_fresh_token_loader
    def needs_fresh(header, payload):
        return error_response(401, "A fresh sign-in is required for this action.")

    @jwt.token_verification_failed_loader
    def claims_failed(header, payload):
        if "exp" not in payload:
            return error_response(401, "The token has no expiry (exp); every token must expire. Sign in again.")
        if not payload.get("jti"):
            return error_response(401, "The token has no id (jti), so it could not be revoked. Sign in again.")
        return error_response(401, "The token's claims were rejected.")
