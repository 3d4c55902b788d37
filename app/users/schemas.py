"""What the users API reads and writes."""

import re

from marshmallow import Schema, ValidationError, fields, validate

from app.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.fields import Flag, PatchSchema, Text, Trimmed
from app.users.models import Role

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# The length is checked here for the OpenAPI document; the service checks it
# again with the rest of the password rule (app/auth/passwords.py).
PASSWORD_LENGTH = validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)


def validate_username(value):
    if not USERNAME_PATTERN.match(value.strip().lower()):
        raise ValidationError("2 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.")


class UserOut(Schema):
    id = fields.Int(dump_only=True)
    username = fields.Str()
    full_name = fields.Str()
    role = fields.Str(metadata={"enum": list(Role)})
    store_id = fields.Int()
    is_active = fields.Bool()
    last_login_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserSummary(Schema):
    id = fields.Int()
    username = fields.Str()
    role = fields.Str()
    full_name = fields.Str()


class UserCreate(Schema):
    username = Trimmed(required=True, validate=validate_username,
                       metadata={"pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{1,63}\s*$"})
    full_name = Trimmed(required=True, validate=validate.Length(max=120))
    role = fields.Str(required=True, validate=validate.OneOf(list(Role)))
    password = fields.Str(required=True, load_only=True, validate=PASSWORD_LENGTH)


class UserUpdate(PatchSchema):
    full_name = Trimmed(validate=validate.Length(max=120))
    role = fields.Str(validate=validate.OneOf(list(Role)))
    is_active = Flag()


class UserQuery(Schema):
    q = Text(validate=validate.Length(max=64), metadata={"description": "Part of the username or full name."})
    role = fields.Str(validate=validate.OneOf(list(Role)))
    is_active = fields.Bool()


class PasswordReset(Schema):
    new_password = fields.Str(required=True, load_only=True, validate=PASSWORD_LENGTH)


class PasswordChange(Schema):
    current_password = fields.Str(required=True, load_only=True, validate=validate.Length(max=128))
    new_password = fields.Str(required=True, load_only=True, validate=PASSWORD_LENGTH)
