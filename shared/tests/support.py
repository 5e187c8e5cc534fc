"""Typed helpers of the shared tests (fixtures are in conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bookshelf_tasks import BookEvent, Notice

MakeEvent = Callable[..., BookEvent]
MakeNotice = Callable[..., Notice]


def new_book_event(kind: str = "added", **changes: Any) -> BookEvent:
    """A valid BookEvent with a new id and the current UTC time, `changes` applied."""
    fields: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_email": "ana@example.com",
        "user_name": "Ana",
        "locale": "es",
        "book_id": 7,
        "title": "Rayuela",
        "author": "Julio Cortázar",
        "isbn": None,
        "year": 1963,
    }
    return BookEvent.from_dict({**fields, **changes})


VERIFY_LINK = "https://bookshelf.test/auth/verify/SECRET-TOKEN"


def new_notice(kind: str = "verify_address", **changes: Any) -> Notice:
    """A valid Notice with a new id and the current UTC time, `changes` applied."""
    fields: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_email": "ana@example.com",
        "user_name": "Ana",
        "locale": "es",
        "details": {"link": VERIFY_LINK},
    }
    return Notice.from_dict({**fields, **changes})
