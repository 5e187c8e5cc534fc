"""The one place that hands outbox events to the email queue, and reads their state.

The web calls `dispatch` after the book change has committed: the event is sent by
name through `bookshelf_tasks`' signature builder (task id = event id) and the
worker does the rest. A broker that is down costs milliseconds (see
bookshelf_tasks.celery_config), never the request: the row stays 'pending' with its
error and can be retried from the notifications page. Never send mail here.
"""

from __future__ import annotations

import logging
from typing import Final

from celery import states
from celery.result import AsyncResult

from bookshelf import outbox
from bookshelf.celery_app import producer
from bookshelf.models import EmailEvent
from bookshelf_tasks import BookEvent, PayloadError, signature_for

log = logging.getLogger(__name__)

# Celery task state -> what the notifications page shows. PENDING is also what Celery
# reports for an id it has no record of: a message still waiting on the queue.
DELIVERY_STATES: Final[dict[str, str]] = {
    states.PENDING: "queued",
    states.RECEIVED: "queued",
    states.STARTED: "sending",
    states.RETRY: "retrying",
    states.SUCCESS: "sent",
    states.FAILURE: "failed",
    states.REVOKED: "failed",
    states.REJECTED: "failed",
}


def dispatch(event: EmailEvent) -> bool:
    """Enqueue the email for `event`; True when it is on the queue.

    On success the event is 'queued'. On a broker error it stays (or becomes again)
    'pending' with the error, for the outbox relay; an invalid payload makes it
    'failed'. Either way False. Raises only if the database cannot record the outcome.
    """
    try:
        signature = signature_for(BookEvent.from_dict(event.payload), app=producer())
    except PayloadError as error:  # a bug in the payload we wrote: retrying cannot help
        log.error("email event %s has an invalid payload: %s", event.id, error)
        outbox.mark_undeliverable(event, str(error))
        return False
    try:
        result = signature.apply_async()
    except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
        log.warning(
            "email event %s (%s) left pending, broker unavailable: %s: %s",
            event.id, event.kind, type(error).__name__, error,
        )  # fmt: skip
        outbox.mark_failed(event, f"broker unavailable: {type(error).__name__}: {error}")
        return False
    outbox.mark_queued(event, result.id)
    log.info("email event %s (%s) queued as task %s", event.id, event.kind, result.id)
    return True


def delivery_state(event: EmailEvent) -> str:
    """What the notifications page shows for `event`.

    'pending' (not on the queue yet), then from the result backend: 'queued',
    'sending', 'retrying', 'sent' or 'failed'. If the backend cannot be read, the
    outbox's own status ('queued') stands.
    """
    if event.status != "queued" or not event.task_id:
        return event.status
    try:
        state = AsyncResult(event.task_id, app=producer()).state
    except Exception as error:  # noqa: BLE001 - the page must render without the backend
        log.warning("state of email event %s unavailable: %s", event.id, error)
        return event.status
    return DELIVERY_STATES.get(state, "queued")
