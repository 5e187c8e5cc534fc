from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bookshelf_tasks import BookEvent


@pytest.fixture
def make_event() -> Callable[..., BookEvent]:
    def make(kind: str = "added", **changes: Any) -> BookEvent:
        fields: dict[str, Any] = {
            "kind": kind,
            "user_email": "ana@example.com",
            "user_name": "Ana",
            "locale": "es",
            "book_id": 7,
            "title": "Rayuela",
            "author": "Julio Cortázar",
            "isbn": None,
            "year": 1963,
        }
        fields.update(changes)
        return BookEvent.create(**fields)

    return make
