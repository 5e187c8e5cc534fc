"""The one place that hands outbox events to the email queue, and reads their state.

The web calls `dispatch` after the book change has committed: the event is sent by
name through `bookshelf_tasks`' signature builder (task id = event id) and the
worker does the rest. The X-Request-ID of the request that wrote the event travels
along as a message header, so the worker's log line names it. A broker that is down
costs milliseconds (see bookshelf_tasks.celery_config), never the request: the row
stays 'pending' with its error and can be retried from the notifications page.
Never send mail here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from celery import states
from celery.backends.base import BaseKeyValueStoreBackend
from celery.result import AsyncResult

from bookshelf import outbox
from bookshelf.celery_app import producer
from bookshelf.extensions import db
from bookshelf.models import EmailEvent
from bookshelf_tasks import BookEvent, PayloadError, is_request_id, signature_for

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
    # The row's id, whoever dispatches: the request that wrote it, the relay or a retry.
    # One that is not a plain token (a hand-edited row) is dropped, not the email.
    request_id = event.request_id if is_request_id(event.request_id) else None
    try:
        signature = signature_for(
            BookEvent.from_dict(event.payload), app=producer(), request_id=request_id
        )
    except PayloadError as error:  # a bug in the payload we wrote: retrying cannot help
        log.error("email event %s has an invalid payload: %s", event.id, error)
        outbox.mark_undeliverable(event, str(error))
        return False
    try:
        _forget_previous_result(event)
        result = signature.apply_async()
    except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
        log.warning(
            "email event %s (%s) left pending, broker unavailable: %s: %s",
            event.id, event.kind, type(error).__name__, error,
        )  # fmt: skip
        outbox.mark_failed(event, f"broker unavailable: {type(error).__name__}: {error}")
        return False
    outbox.mark_queued(event, result.id)
    log.info(
        "email event %s (%s) queued as task %s for request %s",
        event.id, event.kind, result.id, request_id or "-",
    )  # fmt: skip
    return True


def delivery_states(events: Sequence[EmailEvent]) -> dict[str, str]:
    """What the notifications page shows for each event, by event id.

    'pending', 'sent' and 'failed' come from the outbox row. A 'queued' row's state is
    read from the result backend, all of a page's rows in one MGET: 'queued',
    'sending', 'retrying', 'sent' or 'failed'. A final one ('sent', 'failed') is
    recorded on the row, so the page stops asking for it and it outlives the
    backend's result_expires. If the backend cannot be read, 'queued' stands.
    """
    shown = {event.id: event.status for event in events}
    queued = [event for event in events if event.status == "queued" and event.task_id]
    if not queued:
        return shown
    try:
        metas = task_metas([event.task_id for event in queued if event.task_id])
    except Exception as error:  # noqa: BLE001 - the page must render without the backend
        log.warning("states of %d email events unavailable: %s", len(queued), error)
        return shown
    recorded = False
    for event in queued:
        shown[event.id], changed = record_final_state(event, metas.get(event.task_id or ""))
        recorded |= changed
    if recorded:
        _commit_quietly()
    return shown


def record_final_state(event: EmailEvent, meta: Mapping[str, Any] | None) -> tuple[str, bool]:
    """A queued event's shown state from its task `meta` (None: no record, PENDING),
    and whether a final one ('sent', 'failed') was recorded on the row (not committed)."""
    meta = meta or {"status": states.PENDING}
    state = DELIVERY_STATES.get(meta.get("status", ""), "queued")
    if state == "sent":
        return state, outbox.record_outcome(event, "sent", delivered_at=_date_done(meta))
    if state == "failed":
        return state, outbox.record_outcome(event, "failed", error=failure_reason(meta))
    return state, False


def delivery_state(event: EmailEvent) -> str:
    """`delivery_states` for one event."""
    return delivery_states([event])[event.id]


def task_metas(task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored meta (status, result, date_done) of each task that has one."""
    celery = producer()
    backend = celery.backend
    if isinstance(backend, BaseKeyValueStoreBackend):  # Redis/KeyDB: one MGET
        values = backend.mget([backend.get_key_for_task(task_id) for task_id in task_ids])
        # decode(), not decode_result(): the latter rebuilds the worker's exception
        # classes, which the web does not have; the plain dict is all the page needs.
        return {
            task_id: backend.decode(value)
            for task_id, value in zip(task_ids, values, strict=True)
            if value
        }
    return {task_id: {"status": AsyncResult(task_id, app=celery).state} for task_id in task_ids}


def _forget_previous_result(event: EmailEvent) -> None:
    """Before queueing an event again: drop its last run's state (same task id), or the
    page would read that old FAILURE as the new run's outcome."""
    if not event.task_id:
        return
    backend = producer().backend
    if isinstance(backend, BaseKeyValueStoreBackend):
        # A plain DEL: RedisBackend.forget() also touches its pub/sub consumer, which
        # StateOnlyRedisBackend never uses.
        backend.delete(backend.get_key_for_task(event.task_id))
    else:
        backend.forget(event.task_id)


def failure_reason(meta: Mapping[str, Any]) -> str:
    """A short reason from a FAILURE/REVOKED/REJECTED meta, as JSON-serialised by Celery."""
    result = meta.get("result")
    if isinstance(result, Mapping) and "exc_type" in result:
        message = result.get("exc_message")
        if isinstance(message, list | tuple):
            message = " ".join(str(part) for part in message)
        if result["exc_type"] == "EmailFailed" and message:  # the worker's own wording
            return str(message)
        return f"{result['exc_type']}: {message}" if message else str(result["exc_type"])
    return f"{meta.get('status')}: {result}" if result else str(meta.get("status"))


def _date_done(meta: Mapping[str, Any]) -> datetime:
    try:
        done = datetime.fromisoformat(str(meta["date_done"]))
    except (KeyError, ValueError):
        return datetime.now(UTC)
    return done if done.tzinfo else done.replace(tzinfo=UTC)


def _commit_quietly() -> None:
    try:
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - recording is an optimisation; show the page
        db.session.rollback()
        log.warning("could not record email delivery outcomes: %s", error)
