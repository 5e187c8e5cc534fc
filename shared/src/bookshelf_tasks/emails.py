"""Any email the outbox carries: a BookEvent or a Notice, told apart by `kind`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bookshelf_tasks.names import BOOK_NAME_BY_KIND
from bookshelf_tasks.notices import Notice
from bookshelf_tasks.payloads import BookEvent, PayloadError

Email = BookEvent | Notice


def email_from_dict(data: Mapping[str, Any]) -> Email:
    """A stored or received payload, validated as the email its `kind` says it is."""
    if not isinstance(data, Mapping):
        raise PayloadError("payload", f"expected an object, got {type(data).__name__}")
    if data.get("kind") in BOOK_NAME_BY_KIND:
        return BookEvent.from_dict(data)
    return Notice.from_dict(data)
