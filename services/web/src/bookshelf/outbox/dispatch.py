"""Publishing an outbox row: the one place that hands events to the email queue.

The request publishes its own row right after the commit; the relay publishes the
rows whose due time passed (relay.py). Either way the event is sent by name through
`bookshelf_tasks`' signature builder (task id = event id), with the X-Request-ID of
the request that wrote it as a message header. A broker that is down costs
milliseconds (bookshelf_tasks.celery_config), never the request: the row stays
'pending' with the reason, and the relay publishes it later. Never send mail here.
"""

from __future__ import annotations

import logging

from flask import current_app

from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.producer import producer
from bookshelf_tasks import BookEvent, PayloadError, delivery, is_request_id, signature_for

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker refused or did not answer; the row keeps its state and due time."""


def publish(event: EmailEvent) -> bool:
    """Publish `event` and record it 'queued'; commits. True when it is on the queue.

    From 'pending', and for the relay from a row whose due time passed ('queued',
    'retrying', or 'sending' before DATA). The UPDATE is conditional on the state that
    was read, so a worker that claimed the row meanwhile is never overwritten.
    False when the broker refused (the row stays as it was, with the reason if it is
    pending) or the payload is invalid (the row is failed).
    """
    from_status = event.state
    request_id = event.request_id if is_request_id(event.request_id) else None
    try:
        signature = signature_for(
            BookEvent.from_dict(event.payload), app=producer(), request_id=request_id
        )
    except PayloadError as error:  # a bug in the payload we wrote: retrying cannot help
        log.error("email event %s has an invalid payload: %s", event.id, error)
        delivery.record_invalid(db.session.connection(), event.id, str(error))
        db.session.commit()
        return False
    try:
        # ignore_result: a task sent by name does not read task_ignore_result, and
        # would subscribe to any result backend Celery finds, os.environ's
        # CELERY_RESULT_BACKEND first (a leftover of the old design blocks ~20 s, then fails).
        signature.apply_async(ignore_result=True)
    except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
        reason = f"broker unavailable: {type(error).__name__}: {error}"
        log.warning("email event %s (%s) not published: %s", event.id, event.kind, reason)
        db.session.rollback()
        delivery.record_publish_failed(db.session.connection(), event.id, reason)
        db.session.commit()
        return False
    leases = current_app.config["OUTBOX_LEASES"]
    delivery.record_published(db.session.connection(), event.id, from_status, leases)
    db.session.commit()
    log.info("email event %s (%s) published, request %s", event.id, event.kind, request_id or "-")
    return True
