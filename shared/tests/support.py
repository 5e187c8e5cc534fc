"""Typed helpers of the shared tests (fixtures are in conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bookshelf_tasks import BookEvent

MakeEvent = Callable[..., BookEvent]


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
