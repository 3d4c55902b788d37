"""What the auth API reads and writes."""

from marshmallow import Schema, fields, validate

from app.fields import Text

from app.users.schemas import UserSummary


class LoginIn(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=1, max=128))


class LoginOut(Schema):
    access_token = fields.Str()
    refresh_token = fields.Str()
    user = fields.Nested(UserSummary)


class AccessTokenOut(Schema):
    access_token = fields.Str()


class LogoutIn(Schema):
    refresh_token = fields.Str(
        validate=validate.Length(max=4096),
        metadata={"description": "Also revoke this refresh token (sign the device out completely)."},
    )


class PinIn(Schema):
    current_password = fields.Str(required=True, load_only=True, validate=validate.Length(max=128))
    pin = fields.Str(required=True, load_only=True, validate=validate.Regexp(r"^\d{4,8}$", error="4 to 8 digits."))
