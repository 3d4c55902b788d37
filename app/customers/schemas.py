"""What the customers API reads and writes."""

import re

from marshmallow import Schema, ValidationError, fields, validate

from app.fields import PatchSchema, Text, Trimmed

# What people type around a phone number's digits: spaces, dashes, dots, brackets.
_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().-]+$")
# An Indonesian number after the country code (the national significant
# number): no trunk 0, 7 to 12 digits (landlines 021-xxxx-xxxx to mobiles 0812-xxxx-xxxxx).
_INDONESIAN_NSN = re.compile(r"^[1-9][0-9]{6,11}$")
# E.164: at most 15 digits with the country code.
_INTERNATIONAL = re.compile(r"^[1-9][0-9]{7,14}$")
INDONESIA = "62"


def normalize_phone(text):
    """A phone number as stored: digits with the country code, e.g. "6281234567890".

    Accepts what cashiers and customers type: "0812-3456-7890",
    "+62 812 3456 7890", "62 812...", "812 3456 7890", "+62 (0)812...".
    Numbers written with another country code ("+65 ...") keep it. Raises
    ValueError with a message a person can act on.
    """
    raw = text.strip()
    if not _PHONE_CHARACTERS.match(raw):
        raise ValueError("Digits only, optionally with a leading '+', spaces, dashes, dots or brackets.")
    digits = re.sub(r"[^0-9]", "", raw)
    if raw.startswith("+") and not digits.startswith(INDONESIA):
        if not _INTERNATIONAL.match(digits):
            raise ValueError("An international number has 8 to 15 digits after the '+'.")
        return digits
    if digits.startswith(INDONESIA):
        national = digits[len(INDONESIA):]
    elif digits.startswith("0"):
        national = digits[1:]
    elif digits.startswith("8"):  # a mobile number written without its leading 0
        national = digits
    else:
        raise ValueError("Not an Indonesian phone number: start with 0, 62 or +62 (or '+' and a country code).")
    if national.startswith("0"):  # "+62 (0)812 ...": the trunk 0 is not dialled after 62
        national = national[1:]
    if not _INDONESIAN_NSN.match(national):
        raise ValueError("An Indonesian number has 8 to 13 digits with its leading 0, e.g. 0812-3456-7890.")
    return INDONESIA + national


def phone_search_needles(text):
    """What to look for in stored phones when someone searches by (part of) a number.

    The digits as typed, and when they start with 0 (Indonesia's trunk
    prefix) also with 62 in its place: "0812-34" -> {"081234", "6281234"},
    "+62 812" -> {"62812"}, "0000" -> {"0000", "62000"}. Empty when `text`
    is not a phone fragment.
    """
    raw = text.strip()
    if not _PHONE_CHARACTERS.match(raw):
        return set()
    digits = re.sub(r"[^0-9]", "", raw)
    if not digits:
        return set()
    needles = {digits}
    if not raw.startswith("+") and digits.startswith("0"):
        needles.add(INDONESIA + digits[1:])
    return needles


def _blank_is_none(value):
    return None if isinstance(value, str) and not value.strip() else value


class Phone(Text):
    """A phone number, normalized; null or blank means none."""

    def __init__(self, **kwargs):
        # The characters; how many digits, and which country, are told in the error.
        digits = r"\+?[0-9 ().-]*[0-9][0-9 ().-]*"
        pattern = rf"^\s*({digits})?\s*$" if kwargs.get("allow_none") else rf"^\s*{digits}\s*$"
        metadata = {"pattern": pattern, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def deserialize(self, value, *args, **kwargs):
        return super().deserialize(_blank_is_none(value), *args, **kwargs)

    def _tidy(self, text):
        return text.strip()  # as the pattern says: white space around the number is dropped

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return normalize_phone(super()._deserialize(value, attr, data, **kwargs))
        except ValueError as error:
            raise ValidationError(str(error)) from error


class Email(fields.String):
    """An e-mail address without surrounding spaces; null or blank means none (as the document says)."""

    def __init__(self, **kwargs):
        metadata = {"anyOf": [{"format": "email"}, {"pattern": r"^\s*$"}], **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def deserialize(self, value, *args, **kwargs):
        return super().deserialize(_blank_is_none(value), *args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        validate.Email(error="Not a valid email address.")(text)
        return text


class CustomerFields(Schema):
    name = Trimmed(validate=validate.Length(max=120))
    phone = Phone(
        allow_none=True,
        metadata={"description": "Stored as digits with the country code: 0812-3456-7890 becomes 6281234567890."},
    )
    email = Email(allow_none=True, validate=validate.Length(max=254))
    note = Trimmed(allow_none=True, allow_blank=True, multiline=True, validate=validate.Length(max=500))


class CustomerIn(CustomerFields):
    name = Trimmed(required=True, validate=validate.Length(max=120))


class CustomerUpdate(CustomerFields, PatchSchema):
    pass


class CustomerOut(Schema):
    id = fields.Int()
    name = fields.Str()
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
    purchase_count = fields.Int(metadata={"description": "Sales not voided. Kept by checkout, void and refund."})
    total_spent_idr = fields.Int(metadata={"description": "What the customer paid, less refunds and voided sales."})
    last_purchase_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CustomerQuery(Schema):
    q = Text(
        validate=validate.Length(max=120),
        metadata={"description": "Part of the name (any case) or of the phone number (0812..., +62 812... or digits)."},
    )


# Where a purchase was made: a till's sale or an online order (see services.PURCHASE_SOURCES).
PURCHASE_CHANNELS = ("pos", "online")


class PurchaseOut(Schema):
    channel = fields.Str(metadata={"enum": list(PURCHASE_CHANNELS), "description": "Where it was bought: the till or online."})
    sale_id = fields.Int(allow_none=True, metadata={"description": "The POS sale (GET /api/sales/{id}); null for other channels."})
    order_id = fields.Str(allow_none=True, metadata={"description": "The online order; null for POS sales."})
    number = fields.Str()
    created_at = fields.DateTime()
    status = fields.Str()
    total_idr = fields.Int()
    refunded_idr = fields.Int()
