from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery

from bookshelf_tasks import (
    BOOK_ADDED,
    BOOK_DELETED,
    EMAIL_QUEUE,
    TASK_NAMES,
    BookEvent,
    PayloadError,
    book_added_signature,
    book_deleted_signature,
    signature_for,
)

MakeEvent = Callable[..., BookEvent]


def test_names_are_namespaced_and_distinct() -> None:
    assert set(TASK_NAMES) == {"bookshelf.email.book_added", "bookshelf.email.book_deleted"}
    assert EMAIL_QUEUE == "email"


@pytest.mark.parametrize(
    ("kind", "builder", "name"),
    [
        ("added", book_added_signature, BOOK_ADDED),
        ("deleted", book_deleted_signature, BOOK_DELETED),
    ],
)
def test_signature_carries_name_queue_and_payload(
    make_event: MakeEvent, kind: str, builder: Callable[..., Any], name: str
) -> None:
    event = make_event(kind=kind)
    for sig in (builder(event), signature_for(event)):
        assert sig.task == name
        assert sig.options["queue"] == EMAIL_QUEUE
        assert sig.options["task_id"] == event.event_id
        assert sig.args == ()
        assert BookEvent.from_dict(sig.kwargs["event"]) == event
        # What travels must survive the JSON serializer unchanged.
        assert json.loads(json.dumps(sig.kwargs)) == sig.kwargs


def test_signature_refuses_the_wrong_kind(make_event: MakeEvent) -> None:
    with pytest.raises(PayloadError, match="cannot be sent"):
        book_deleted_signature(make_event(kind="added"))


def test_signature_refuses_a_raw_dict(make_event: MakeEvent) -> None:
    with pytest.raises(PayloadError):
        book_added_signature(make_event().to_dict())  # type: ignore[arg-type]


def test_signature_binds_to_the_given_app(make_event: MakeEvent) -> None:
    app = Celery("producer-under-test")
    assert book_added_signature(make_event(), app=app).app is app
