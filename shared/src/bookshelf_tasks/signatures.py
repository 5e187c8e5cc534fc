"""How the web app asks for an email without importing the worker: a signature by name
(Celery docs, "Canvas > Signatures"; docs/architecture.md, "Task contract")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import signature
from celery.canvas import Signature

from bookshelf_tasks.correlation import request_id_headers
from bookshelf_tasks.emails import Email
from bookshelf_tasks.names import EMAIL_QUEUE
from bookshelf_tasks.notices import Notice
from bookshelf_tasks.payloads import BookEvent, PayloadError

if TYPE_CHECKING:
    from celery import Celery

EVENT_KWARG = "event"


def signature_for(
    event: Email, app: Celery | None = None, request_id: str | None = None
) -> Signature:
    """`signature(NAME, kwargs={"event": ...}, queue="email")` for the event's kind. Pass
    the producer's `app` so that `.apply_async()` uses its broker settings rather than
    `current_app`, and `request_id` to send it as a message header (never in the payload)."""
    if not isinstance(event, BookEvent | Notice):
        raise PayloadError("event", f"expected an email payload, got {type(event).__name__}")
    headers = request_id_headers(request_id)
    # The event id doubles as the task id: a redelivery or a resend keeps the same id,
    # and so the same Message-ID.
    return signature(
        event.task_name,
        kwargs={EVENT_KWARG: event.to_dict()},
        queue=EMAIL_QUEUE,
        task_id=event.event_id,
        # Signature options reach apply_async, whose `headers` join the message's own.
        **({"headers": headers} if headers else {}),
        app=app,
    )
