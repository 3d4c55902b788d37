"""What services raise when they refuse: domain errors, not HTTP.

A service says what went wrong in business terms (no such row, a conflict
with the current state, invalid input, not allowed, too many attempts) and
raises; it never builds a response. The HTTP edge turns these into the one
error shape, the CLI prints the message and exits non-zero, a Celery task
records it. So the same service serves all three.

Each error carries a `message` a person can act on and, optionally, `errors`:
the field errors in the nested shape the API answers with, keyed by where the
problem is (`{"json": {"field": ["..."]}}`, `{"query": ...}`,
`{"headers": ...}`), exactly as they appear in the response body.

The HTTP status of each class is written in ONE place: the table beside the
handler in app/errors.py, not here as an attribute. This module is the shared
core the CLI and the tasks import too, and HTTP is the edge's translation of
a domain outcome, not part of it; a subclass (InsufficientStock is a
Conflict) inherits its base's status through that table, and a test fails if
any DomainError has none.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn


class DomainError(Exception):
    """A refusal a caller can act on; nothing has been committed."""

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class Malformed(DomainError):
    """The input could not be read at all (a notification that is not what it claims)."""


class AuthenticationFailed(DomainError):
    """The credentials do not identify an active account."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class NotFound(DomainError):
    """No such thing, or not one the caller may see."""


class Conflict(DomainError):
    """The request is well formed but the current state does not allow it."""


class Gone(DomainError):
    """It existed and has been cleaned up for good."""


class TooLarge(DomainError):
    """The input is larger than accepted."""


class Invalid(DomainError):
    """The input is well formed but a value is not acceptable."""


class TooManyAttempts(DomainError):
    """Too many tries or open requests; `retry_after` (seconds), when known, says when to try again."""

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message, errors)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the operation needs elsewhere (Midtrans) failed for now; retrying later may work."""


def reject_field(message: str, path: Sequence[str | int]) -> NoReturn:
    """Raise Invalid with the error placed at the request body field it concerns (`path` into the JSON)."""
    errors: list[str] | dict[str | int, object] = [message]
    for part in reversed(path):
        errors = {part: errors}
    raise Invalid(message, errors={"json": errors})
