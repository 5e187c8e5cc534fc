"""Emails that are not about one book: a `Notice` of some kind (verify an address, a
digest, an import summary...), built by the web app and checked again by the worker.

Every notice carries the envelope every email has (`fields.check_envelope`) and a
`details` object whose keys and rules its kind declares in NOTICE_KINDS. A new kind is
an entry there, its task name in `names.NOTICE_NAME_BY_KIND`, and its templates in the
worker. A field marked `secret` (a link holding a token) goes into the email only: the
status page, the API and the logs see `public_details`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from bookshelf_tasks.fields import (
    MAX_TEXT,
    PayloadError,
    address,
    check_envelope,
    exact_fields,
    integer,
    parse_utc,
    text,
)
from bookshelf_tasks.names import NOTICE_NAME_BY_KIND, task_name_for

_LINK = re.compile(r"^https?://[^\s<>\"']+$")
MAX_LINK = 2000
MAX_BOOKS = 1000
Check = Callable[[str, object], object]


@dataclass(frozen=True)
class Field:
    """One detail of a notice: its check (`check(name, value)` raises PayloadError),
    and whether it must never be shown outside the email itself."""

    check: Check
    secret: bool = False


def plain_text(*, required: bool = True, max_len: int = MAX_TEXT) -> Field:
    return Field(lambda name, value: text(name, value, required=required, max_len=max_len))


def email_address() -> Field:
    return Field(address)


def count() -> Field:
    def check(name: str, value: object) -> None:
        if integer(name, value) < 0:
            raise PayloadError(name, "must not be negative")

    return Field(check)


def link(*, secret: bool = True) -> Field:
    """An absolute http(s) URL for the reader to follow; secret unless told otherwise,
    since the links these emails carry usually hold a token. The value is never put in
    an error message."""

    def check(name: str, value: object) -> None:
        if not isinstance(value, str) or len(value) > MAX_LINK or not _LINK.match(value):
            raise PayloadError(name, "not an absolute http(s) URL")

    return Field(check, secret=secret)


def _book(name: str, value: object) -> None:
    if not isinstance(value, Mapping):
        raise PayloadError(name, "expected an object")
    exact_fields(value, {"title", "author", "isbn", "year"})
    text(f"{name}.title", value["title"])
    text(f"{name}.author", value["author"], required=False)
    if value["isbn"] is not None:
        text(f"{name}.isbn", value["isbn"], max_len=32)
    if value["year"] is not None and abs(integer(f"{name}.year", value["year"])) > 9999:
        raise PayloadError(f"{name}.year", "out of range")


def books(*, max_items: int = MAX_BOOKS) -> Field:
    """A list of books, each `{title, author, isbn, year}` (isbn and year may be null):
    what a digest or an import summary lists."""

    def check(name: str, value: object) -> None:
        if not isinstance(value, list):
            raise PayloadError(name, f"expected a list, got {type(value).__name__}")
        if len(value) > max_items:
            raise PayloadError(name, f"more than {max_items} items")
        for index, item in enumerate(value):
            _book(f"{name}[{index}]", item)

    return Field(check)


# Each kind's details: name → rule. docs/architecture.md, "Task contract", lists them.
NOTICE_KINDS: Final[dict[str, dict[str, Field]]] = {
    # Sent at sign-up (and on request) to the address to verify.
    "verify_address": {"link": link()},
}
assert set(NOTICE_KINDS) == set(NOTICE_NAME_BY_KIND), "every notice kind needs a task name"


@dataclass(frozen=True, slots=True)
class Notice:
    """An email that is not about one book; see docs/architecture.md, "Task contract"."""

    event_id: str
    kind: str
    occurred_at: str
    user_email: str
    user_name: str
    locale: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        if self.kind not in NOTICE_KINDS:
            raise PayloadError("kind", f"must be one of {tuple(NOTICE_KINDS)}, got {self.kind!r}")
        check_envelope(self)
        rules = NOTICE_KINDS[self.kind]
        exact_fields(self.details, set(rules))
        for name, rule in rules.items():
            rule.check(name, self.details[name])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notice:
        """Validate a received payload: exactly the contract's fields, right types."""
        exact_fields(data, {f.name for f in dataclasses.fields(cls)})
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def public_details(self) -> dict[str, Any]:
        """The details without the secret ones: what may be shown or logged."""
        return public_details(self.kind, self.details)

    @property
    def occurred_at_utc(self) -> datetime:
        return parse_utc(self.occurred_at)

    @property
    def task_name(self) -> str:
        return task_name_for(self.kind)


def public_details(kind: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """`details` of a stored notice without its kind's secret fields (nothing for an
    unknown kind: what is not declared is not known to be safe)."""
    rules = NOTICE_KINDS.get(kind, {})
    return {
        name: details[name] for name, rule in rules.items() if not rule.secret and name in details
    }
