"""The BookEvent payload: built by the web app, checked again by the worker.

Only JSON-native values travel (the serializer is JSON-only), so the dataclass keeps
`occurred_at` as its ISO 8601 string and offers the parsed datetime as a property.
The checks every email shares (and the header-injection rule) are in `fields`; the
emails that are not about a book are `notices.Notice`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bookshelf_tasks.fields import (
    DEFAULT_TIMEZONE,
    LOCALES,
    MAX_TEXT,
    PayloadError,
    check_envelope,
    exact_fields,
    integer,
    parse_utc,
    text,
    time_zone,
)
from bookshelf_tasks.names import BOOK_NAME_BY_KIND, task_name_for

__all__ = ["KINDS", "LOCALES", "MAX_TEXT", "BookEvent", "PayloadError"]

KINDS = tuple(BOOK_NAME_BY_KIND)


@dataclass(frozen=True, slots=True)
class BookEvent:
    """A book was added, deleted or edited; see docs/architecture.md, "Task contract"."""

    event_id: str
    kind: Literal["added", "deleted", "edited"]
    occurred_at: str
    user_email: str
    user_name: str
    locale: Literal["es", "en"]
    book_id: int
    title: str
    author: str
    isbn: str | None
    year: int | None
    # The reader's IANA time zone, in which the email shows its date. Rows written
    # before it existed have none: they are read as UTC.
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        if self.kind not in KINDS:
            raise PayloadError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        check_envelope(self)
        if integer("book_id", self.book_id) <= 0:
            raise PayloadError("book_id", "must be positive")
        text("title", self.title)
        text("author", self.author, required=False)
        if self.isbn is not None:
            text("isbn", self.isbn, max_len=32)
        if self.year is not None and abs(integer("year", self.year)) > 9999:
            raise PayloadError("year", "out of range")
        time_zone("timezone", self.timezone)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BookEvent:
        """Validate a received payload: exactly the contract's fields, right types."""
        data = {"timezone": DEFAULT_TIMEZONE, **data} if isinstance(data, Mapping) else data
        exact_fields(data, {field.name for field in dataclasses.fields(cls)})
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def occurred_at_utc(self) -> datetime:
        return parse_utc(self.occurred_at)

    @property
    def task_name(self) -> str:
        return task_name_for(self.kind)
