"""Signature builders: how the web app asks for an email without importing the worker.

Each builder returns `celery.signature(NAME, kwargs={"event": ...}, queue="email")`
(Celery docs, "Canvas > Signatures"). Pass the producer's Celery `app` so that
`.apply_async()` publishes through its broker settings rather than `current_app`.
Pass `request_id` (the web request's X-Request-ID) to send it as the
`REQUEST_ID_HEADER` message header (see correlation.py); the payload never carries it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import signature
from celery.canvas import Signature

from bookshelf_tasks.correlation import request_id_headers
from bookshelf_tasks.names import BOOK_ADDED, BOOK_DELETED, EMAIL_QUEUE
from bookshelf_tasks.payloads import BookEvent, PayloadError

if TYPE_CHECKING:
    from celery import Celery

EVENT_KWARG = "event"


def _email_signature(
    name: str, event: BookEvent, app: Celery | None, request_id: str | None
) -> Signature:
    if not isinstance(event, BookEvent):
        raise PayloadError("event", f"expected a BookEvent, got {type(event).__name__}")
    if event.task_name != name:
        raise PayloadError("kind", f"a {event.kind!r} event cannot be sent as {name}")
    headers = request_id_headers(request_id)
    # The event id doubles as the task id: the web app can store it before publishing,
    # read the task's state by it later, and a redelivery keeps the same id.
    return signature(
        name,
        kwargs={EVENT_KWARG: event.to_dict()},
        queue=EMAIL_QUEUE,
        task_id=event.event_id,
        # Signature options reach apply_async, whose `headers` join the message's own.
        **({"headers": headers} if headers else {}),
        app=app,
    )


def book_added_signature(
    event: BookEvent, app: Celery | None = None, request_id: str | None = None
) -> Signature:
    return _email_signature(BOOK_ADDED, event, app, request_id)


def book_deleted_signature(
    event: BookEvent, app: Celery | None = None, request_id: str | None = None
) -> Signature:
    return _email_signature(BOOK_DELETED, event, app, request_id)


def signature_for(
    event: BookEvent, app: Celery | None = None, request_id: str | None = None
) -> Signature:
    """The signature matching the event's kind."""
    return _email_signature(event.task_name, event, app, request_id)
