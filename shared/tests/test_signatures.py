from __future__ import annotations

import json

import pytest
from celery import Celery

from bookshelf_tasks import (
    BOOK_ADDED,
    BOOK_DELETED,
    BOOK_EDITED,
    BookEvent,
    PayloadError,
    email_from_dict,
    signature_for,
)
from bookshelf_tasks.correlation import RequestIdError, is_request_id
from bookshelf_tasks.names import EMAIL_QUEUE, REQUEST_ID_HEADER, TASK_NAMES
from shared.tests.support import MakeEvent, MakeNotice


def test_names_are_namespaced_and_distinct() -> None:
    assert {
        "bookshelf.email.book_added",
        "bookshelf.email.book_deleted",
        "bookshelf.email.book_edited",
    } <= set(TASK_NAMES)
    assert "bookshelf.email.verify_address" in TASK_NAMES
    assert len(set(TASK_NAMES)) == len(TASK_NAMES)
    assert all(name.startswith("bookshelf.email.") for name in TASK_NAMES)
    assert EMAIL_QUEUE == "email"


def test_a_notice_travels_by_its_kinds_name_with_the_same_wire_shape(
    make_notice: MakeNotice,
) -> None:
    notice = make_notice()
    sig = signature_for(notice)
    assert sig.task == "bookshelf.email.verify_address"
    assert (sig.options["queue"], sig.options["task_id"]) == (EMAIL_QUEUE, notice.event_id)
    assert list(sig.kwargs) == ["event"]
    assert email_from_dict(sig.kwargs["event"]) == notice
    assert json.loads(json.dumps(sig.kwargs)) == sig.kwargs


@pytest.mark.parametrize(
    ("kind", "name"), [("added", BOOK_ADDED), ("deleted", BOOK_DELETED), ("edited", BOOK_EDITED)]
)
def test_signature_carries_name_queue_and_payload(
    make_event: MakeEvent, kind: str, name: str
) -> None:
    event = make_event(kind=kind)
    sig = signature_for(event)
    assert sig.task == name
    assert sig.options["queue"] == EMAIL_QUEUE
    assert sig.options["task_id"] == event.event_id
    assert sig.args == ()
    assert BookEvent.from_dict(sig.kwargs["event"]) == event
    # What travels must survive the JSON serializer unchanged.
    assert json.loads(json.dumps(sig.kwargs)) == sig.kwargs


def test_signature_refuses_a_raw_dict(make_event: MakeEvent) -> None:
    with pytest.raises(PayloadError):
        signature_for(make_event().to_dict())  # type: ignore[arg-type]


def test_signature_binds_to_the_given_app(make_event: MakeEvent) -> None:
    app = Celery("producer-under-test")
    assert signature_for(make_event(), app=app).app is app


def test_signature_without_request_id_sends_no_header(make_event: MakeEvent) -> None:
    assert "headers" not in signature_for(make_event()).options


@pytest.mark.parametrize("request_id", ["abc12345-valid", "0" * 32, "a.b_c-D.E_f-" + "9" * 52])
def test_signature_carries_the_request_id_as_a_header(
    make_event: MakeEvent, request_id: str
) -> None:
    event = make_event()
    sig = signature_for(event, request_id=request_id)
    assert sig.options["headers"] == {REQUEST_ID_HEADER: request_id} == {"request_id": request_id}
    assert BookEvent.from_dict(sig.kwargs["event"]) == event  # the payload is unchanged


@pytest.mark.parametrize(
    "request_id",
    ["", "short12", "x" * 65, "has space1", "line\r\nbreak", "trailing-newline\n", "ñandú-1234"],
)
def test_signature_refuses_a_malformed_request_id(make_event: MakeEvent, request_id: str) -> None:
    with pytest.raises(RequestIdError):
        signature_for(make_event(), request_id=request_id)
    assert not is_request_id(request_id)


def test_the_header_travels_in_the_published_message(make_event: MakeEvent) -> None:
    """What apply_async really puts on the wire (kombu's in-memory transport)."""
    app = Celery("producer-under-test", broker="memory://", set_as_current=False)
    event = make_event()
    signature_for(event, app=app, request_id="abc12345-wire").apply_async()
    with app.connection_for_read() as connection:
        message = connection.default_channel.basic_get(EMAIL_QUEUE, no_ack=True)
    assert message is not None
    assert message.headers[REQUEST_ID_HEADER] == "abc12345-wire"
    assert message.headers["id"] == event.event_id
    assert REQUEST_ID_HEADER not in json.dumps(message.decode())  # not in the body
