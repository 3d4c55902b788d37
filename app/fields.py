"""Marshmallow fields shared by the schemas."""

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Largest rupiah amount accepted anywhere: far above any shop's sale, far
# below where a BIGINT or a JavaScript number loses precision.
MAX_IDR = 10**12


# Unicode category Cc, all of it: C0 (NUL, escape, vertical tab ...), DEL and C1.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same, less line feed and tab, for texts a person writes over several lines.
CONTROL_CHARACTERS_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode category Cs: half of a UTF-16 pair, which JSON's "\\ud800" escape can carry alone.
# It is not a character, and UTF-8 (so PostgreSQL) cannot encode it.
SURROGATES = re.compile(r"[\ud800-\udfff]")
# The same rules as character classes, for the OpenAPI document's `pattern` (Python's re
# semantics, which jsonschema and schemathesis use; `\s` is what str.strip() removes).
# In a multi-line text a carriage return is read as a line feed, so it is allowed too.
_BANNED = r"\x00-\x1f\x7f-\x9f"
_BANNED_BUT_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"


class Text(fields.String):
    """A string without control characters; `multiline=True` allows line feeds and tabs.

    Nobody types a control character: they come from pasted binary, broken
    encodings or probes, and they do harm later. PostgreSQL cannot store NUL,
    XLSX cannot hold most of them (the export fails), and they garble receipts.
    So they are refused here, naming the field, rather than stored. Texts that
    are printed over several lines (notes, receipt header and footer, address,
    descriptions) keep line feeds and tabs; a CR LF or a lone CR, as a Windows
    text box sends it, is read as a line feed.
    """

    def __init__(self, *args, multiline=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.multiline = multiline
        # The document states the rule, so a generated client (or a fuzzer) sends what is accepted.
        if "pattern" not in self.metadata and not any(isinstance(rule, validate.Regexp) for rule in self.validators):
            self.metadata = {**self.metadata, "pattern": self._pattern()}

    def _banned(self):
        return _BANNED_BUT_LINES if self.multiline else _BANNED

    def _pattern(self):
        return rf"^[^{self._banned()}]*$"

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        # The document's maxLength is of the text as sent: white space that a subclass trims
        # does not make a longer text acceptable.
        for rule in self.validators:
            if isinstance(rule, validate.Length) and rule.max is not None and len(text) > rule.max:
                raise ValidationError(rule.message_max.format(input=text, min=rule.min, max=rule.max))
        if self.multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = self._tidy(text)
        if self.multiline and CONTROL_CHARACTERS_BUT_LINES.search(text):
            raise ValidationError("Control characters other than line breaks and tabs are not allowed.")
        if not self.multiline and CONTROL_CHARACTERS.search(text):
            raise ValidationError("Control characters are not allowed.")
        if SURROGATES.search(text):
            raise ValidationError("Unpaired surrogates (\\ud800 to \\udfff) are not allowed; send the character itself.")
        return text

    def _tidy(self, text):
        """What a subclass does to the text before it is checked."""
        return text


class Trimmed(Text):
    """A Text with surrounding white space removed; blank is refused unless allowed.

    White space is trimmed before the check, so a line break pasted at the end
    of a name is dropped as before; one inside the name is refused.
    """

    def __init__(self, *args, allow_blank=False, **kwargs):
        self.allow_blank = allow_blank  # read by _pattern, which Text.__init__ calls
        super().__init__(*args, **kwargs)

    def _pattern(self):
        # White space at either end is trimmed; what remains has none of the banned characters
        # and, unless blank is allowed, something besides white space.
        banned = self._banned()
        core = rf"[^\s{banned}](?:[^{banned}]*[^\s{banned}])?"
        return rf"^\s*(?:{core})?\s*$" if self.allow_blank else rf"^\s*{core}\s*$"

    def _tidy(self, text):
        text = text.strip()
        if not text and not self.allow_blank:
            raise ValidationError("Must not be blank.")
        return text


class Flag(fields.Boolean):
    """A JSON true or false; 1, "yes" and "true" are refused, as the document's `type: boolean` says."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Rupiah(**kwargs):  # noqa: N802 - reads like a field class at the call site
    """Integer rupiah: JSON numbers with no fraction, strings and floats refused."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_IDR), **kwargs)


def Quantity(minimum=0, maximum=1_000_000, **kwargs):  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)

# The largest ids the key columns hold (PostgreSQL INTEGER and BIGINT). A larger
# number names no row: in a body it is a 422, in a path a 404 (app/openapi.py).
INT_ID_MAX = 2**31 - 1
BIGINT_ID_MAX = 2**63 - 1


class Percent(fields.Decimal):
    """A percent from 0 to 100 with at most two decimal places (basis points in the database).

    Read from and written as a JSON number, never a string, as the OpenAPI
    document says (`type: number`, `multipleOf: 0.01`); the value is read
    through its decimal text, so 12.5 is exactly 12.5.
    """

    def __init__(self, **kwargs):
        metadata = {"multipleOf": 0.01, **kwargs.pop("metadata", {})}
        super().__init__(validate=[validate.Range(min=0, max=100), _two_places], metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        # Also how apispec writes the Range bounds into the document: as numbers.
        return None if value is None else float(value)


def _two_places(value):
    if value.as_tuple().exponent < -2:
        raise ValidationError("At most two decimal places.")


class PatchSchema(Schema):
    """The body of a PATCH: every field optional, but at least one given (`minProperties: 1`)."""

    @validates_schema(pass_original=True)
    def _something_to_change(self, data, original, **kwargs):
        if isinstance(original, dict) and not original:
            raise ValidationError("Nothing to change: send at least one field.", "_schema")
