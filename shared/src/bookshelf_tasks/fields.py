"""Field checks shared by every email payload (BookEvent and Notice).

Any field that can end up in a mail header refuses CR and LF, whatever the mail
library would do later: a payload that could inject a header is never valid.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

LOCALES = ("es", "en")
MAX_TEXT = 500
# Deliberately loose: the web form validates addresses properly; this only keeps
# out what could break an SMTP envelope or a header.
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PayloadError(ValueError):
    """An email payload is malformed; `field` names the first offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid email payload: {field}: {problem}")
        self.field = field
        self.problem = problem


def text(field: str, value: object, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise PayloadError(field, f"expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise PayloadError(field, "must not be empty")
    if len(value) > max_len:
        raise PayloadError(field, f"longer than {max_len} characters")
    if _CONTROL.search(value):
        raise PayloadError(field, "contains control characters (CR, LF, ...)")
    return value


def integer(field: str, value: object) -> int:
    # bool is an int subclass; True is not a book id.
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(field, f"expected an integer, got {type(value).__name__}")
    return value


def address(field: str, value: object) -> str:
    checked = text(field, value, max_len=254)
    if not _EMAIL.match(checked):
        raise PayloadError(field, f"not an email address: {checked!r}")
    if not checked.rpartition("@")[0].isascii():
        # Without SMTPUTF8 (which Flask-Mail does not speak) no server can take it;
        # an internationalized domain is fine, it is sent as IDNA.
        raise PayloadError(field, "the part before @ must be ASCII")
    return checked


def parse_utc(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError("occurred_at", f"not ISO 8601: {value!r}") from None
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        raise PayloadError("occurred_at", "must carry a UTC offset (Z or +00:00)")
    return moment


def check_envelope(email: Any) -> None:
    """The fields every email payload has: who it is for, in which language, and when."""
    text("event_id", email.event_id, max_len=36)
    try:
        uuid.UUID(email.event_id)
    except ValueError:
        raise PayloadError("event_id", f"not a UUID: {email.event_id!r}") from None
    text("occurred_at", email.occurred_at, max_len=40)
    parse_utc(email.occurred_at)
    address("user_email", email.user_email)
    text("user_name", email.user_name, max_len=200)
    if email.locale not in LOCALES:
        raise PayloadError("locale", f"must be one of {LOCALES}, got {email.locale!r}")


def exact_fields(data: object, expected: set[str]) -> None:
    """A received payload has exactly `expected`'s keys."""
    if not isinstance(data, Mapping):
        raise PayloadError("payload", f"expected an object, got {type(data).__name__}")
    unknown = sorted(set(data) - expected)
    if unknown:
        raise PayloadError(unknown[0], "unknown field")
    missing = sorted(expected - set(data))
    if missing:
        raise PayloadError(missing[0], "missing field")
