"""The one place that hands outbox events to the email queue, and reads their state.

The web calls `dispatch` after the book change has committed. Both bodies are stubs
for now; the worker issue replaces them (Celery signature by name from
`bookshelf_tasks`, and the result backend for `delivery_state`). Never send mail here.
"""

from __future__ import annotations

import logging

from bookshelf.models import EmailEvent

log = logging.getLogger(__name__)


def dispatch(event: EmailEvent) -> bool:
    """Enqueue the email for `event`; True when it is on the queue.

    On success call `outbox.mark_queued(event, task_id)`; on a broker error call
    `outbox.mark_failed(event, str(error))` and return False. Must not raise.
    """
    # TODO(worker issue): send the bookshelf_tasks signature for event.kind with
    # kwargs=event.payload, then outbox.mark_queued(event, result.id).
    log.info("email event %s (%s) left pending: no queue wired yet", event.id, event.kind)
    return False


def delivery_state(event: EmailEvent) -> str:
    """What the notifications page shows for `event`."""
    # TODO(worker issue): read the Celery result backend when event.task_id is set.
    return event.status
