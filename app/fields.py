"""Marshmallow fields shared by the schemas."""

from marshmallow import ValidationError, fields, validate

# Largest rupiah amount accepted anywhere: far above any shop's sale, far
# below where a BIGINT or a JavaScript number loses precision.
MAX_IDR = 10**12


class Trimmed(fields.String):
    """A string with surrounding white space removed; blank is refused unless allowed."""

    def __init__(self, *args, allow_blank=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_blank = allow_blank

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and not self.allow_blank:
            raise ValidationError("Must not be blank.")
        return text


def Rupiah(**kwargs):  # noqa: N802 - reads like a field class at the call site
    """Integer rupiah: JSON numbers with no fraction, strings and floats refused."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_IDR), **kwargs)


def Quantity(minimum=0, maximum=1_000_000, **kwargs):  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)
