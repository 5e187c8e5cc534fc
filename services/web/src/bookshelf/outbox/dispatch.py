"""Publishing outbox rows: the one place that hands events to the email queue, for the
relay and the user's "send again" (docs/architecture.md, "Email delivery state"). It
never sends mail."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.producer import producer
from bookshelf_tasks import PayloadError, delivery, email_from_dict, is_request_id, signature_for
from bookshelf_tasks.delivery import EmailStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    published: int = 0
    invalid: int = 0  # payloads that can never be sent: now 'failed'
    broker_down: bool = False


class Publishable(Protocol):
    """What publishing reads of a row: an EmailEvent, or the relay's plain row."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def request_id(self) -> str | None: ...


def publish_all(events: Sequence[Publishable]) -> Published:
    """Publish `events` over one broker connection and record each 'queued', in the
    caller's transaction (which holds their rows locked; the caller commits).

    Each UPDATE is conditional on the state that was read (`record_published`), so a
    worker's claim is never overwritten. Stops at the first event the broker refuses:
    the rest would fail the same way.
    """
    connection = db.session.connection()
    leases = current_app.config["OUTBOX_LEASES"]
    published = invalid = 0
    with producer().producer_or_acquire() as kombu_producer:
        for event in events:
            from_status = EmailStatus(event.status)
            request_id = event.request_id if is_request_id(event.request_id) else None
            try:
                signature = signature_for(
                    email_from_dict(event.payload), app=producer(), request_id=request_id
                )
            except PayloadError as error:  # a bug in the payload we wrote
                log.error("email event %s has an invalid payload: %s", event.id, error)
                delivery.record_invalid(connection, event.id, str(error))
                invalid += 1
                continue
            try:
                # ignore_result: a task sent by name does not read task_ignore_result,
                # and would wait on any result backend os.environ names.
                signature.apply_async(producer=kombu_producer, ignore_result=True)
            except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
                reason = f"broker unavailable: {type(error).__name__}: {error}"
                log.warning("email event %s not published: %s", event.id, reason)
                delivery.record_publish_failed(connection, event.id, reason)
                return Published(published, invalid, broker_down=True)
            delivery.record_published(connection, event.id, from_status, leases)
            published += 1
            log.debug("email event %s published, request %s", event.id, request_id or "-")
    return Published(published, invalid)


def publish(event: EmailEvent) -> bool:
    """Lock and read `event` again, publish it, commit; True when it is on the queue."""
    db.session.refresh(event, with_for_update=True)
    done = publish_all([event])
    db.session.commit()
    return done.published == 1
