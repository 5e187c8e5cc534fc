"""The BookEvent payload: built by the web app, checked again by the worker.

Only JSON-native values travel (the serializer is JSON-only), so the dataclass keeps
`occurred_at` as its ISO 8601 string and offers the parsed datetime as a property.
Any field that can end up in a mail header refuses CR and LF, whatever the mail
library would do later: a payload that could inject a header is never valid.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bookshelf_tasks.names import task_name_for

LOCALES = ("es", "en")
KINDS = ("added", "deleted")
MAX_TEXT = 500
# Deliberately loose: the web form validates addresses properly; this only keeps
# out what could break an SMTP envelope or a header.
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PayloadError(ValueError):
    """A BookEvent payload is malformed; `field` names the first offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid BookEvent payload: {field}: {problem}")
        self.field = field
        self.problem = problem


def _text(field: str, value: object, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise PayloadError(field, f"expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise PayloadError(field, "must not be empty")
    if len(value) > max_len:
        raise PayloadError(field, f"longer than {max_len} characters")
    if _CONTROL.search(value):
        raise PayloadError(field, "contains control characters (CR, LF, ...)")
    return value


def _integer(field: str, value: object) -> int:
    # bool is an int subclass; True is not a book id.
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(field, f"expected an integer, got {type(value).__name__}")
    return value


def _parse_utc(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError("occurred_at", f"not ISO 8601: {value!r}") from None
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        raise PayloadError("occurred_at", "must carry a UTC offset (Z or +00:00)")
    return moment


@dataclass(frozen=True, slots=True)
class BookEvent:
    """A book was added or deleted; see docs/architecture.md, "Task contract"."""

    event_id: str
    kind: Literal["added", "deleted"]
    occurred_at: str
    user_email: str
    user_name: str
    locale: Literal["es", "en"]
    book_id: int
    title: str
    author: str
    isbn: str | None
    year: int | None

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        _text("event_id", self.event_id, max_len=36)
        try:
            uuid.UUID(self.event_id)
        except ValueError:
            raise PayloadError("event_id", f"not a UUID: {self.event_id!r}") from None
        if self.kind not in KINDS:
            raise PayloadError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        _text("occurred_at", self.occurred_at, max_len=40)
        _parse_utc(self.occurred_at)
        _text("user_email", self.user_email, max_len=254)
        if not _EMAIL.match(self.user_email):
            raise PayloadError("user_email", f"not an email address: {self.user_email!r}")
        if not self.user_email.rpartition("@")[0].isascii():
            # Without SMTPUTF8 (which Flask-Mail does not speak) no server can take it;
            # an internationalized domain is fine, it is sent as IDNA.
            raise PayloadError("user_email", "the part before @ must be ASCII")
        _text("user_name", self.user_name, max_len=200)
        if self.locale not in LOCALES:
            raise PayloadError("locale", f"must be one of {LOCALES}, got {self.locale!r}")
        if _integer("book_id", self.book_id) <= 0:
            raise PayloadError("book_id", "must be positive")
        _text("title", self.title)
        _text("author", self.author, required=False)
        if self.isbn is not None:
            _text("isbn", self.isbn, max_len=32)
        if self.year is not None and abs(_integer("year", self.year)) > 9999:
            raise PayloadError("year", "out of range")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BookEvent:
        """Validate a received payload: exactly the contract's fields, right types."""
        if not isinstance(data, Mapping):
            raise PayloadError("payload", f"expected an object, got {type(data).__name__}")
        expected = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - expected)
        if unknown:
            raise PayloadError(unknown[0], "unknown field")
        missing = sorted(expected - set(data))
        if missing:
            raise PayloadError(missing[0], "missing field")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def occurred_at_utc(self) -> datetime:
        return _parse_utc(self.occurred_at)

    @property
    def task_name(self) -> str:
        return task_name_for(self.kind)
