"""One marker per delivered email, so that a second message for the event sends nothing.

The web's outbox relay publishes a 'queued' event again when, minutes later, its task
has no state (bookshelf.stale_queued): usually the broker lost the message, but it may
only have been waiting in a long queue, and then two copies arrive. The task's own
state cannot tell them apart: with task_track_started Celery stores STARTED before the
task body runs (celery/app/trace.py), over a previous run's SUCCESS, and the web's
dispatch deletes the state before it publishes again. So, after a successful send, the
task sets `bookshelf:email-sent:<event_id>` in the result backend's Redis, expiring with
result_expires (the relay never re-sends a row older than that), and checks it first.

Best effort, at-least-once: when the marker cannot be read the email is sent, and two
copies running at the same moment can both send (with the same Message-ID).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Final

from celery.backends.redis import RedisBackend

log = logging.getLogger("bookshelf_worker.email")

MARKER_PREFIX: Final = "bookshelf:email-sent:"


def marker_key(event_id: str) -> str:
    return f"{MARKER_PREFIX}{event_id}"


def already_sent(backend: Any, event_id: str) -> bool:
    """True when a previous run delivered `event_id`; False when not, or unknown."""
    if not isinstance(backend, RedisBackend):
        return False
    try:
        return bool(backend.client.exists(marker_key(event_id)))
    except Exception as error:  # noqa: BLE001 - redis and socket errors alike
        log.warning("sent-marker of event %s unreadable, sending anyway: %s", event_id, error)
        return False


def mark_sent(backend: Any, event_id: str, expires: float | timedelta | None) -> None:
    """Record that `event_id` was delivered; a failure is logged, the email stays sent."""
    if not isinstance(backend, RedisBackend):
        return
    seconds = expires.total_seconds() if isinstance(expires, timedelta) else expires
    try:
        backend.client.set(marker_key(event_id), "1", ex=int(seconds) if seconds else None)
    except Exception as error:  # noqa: BLE001 - redis and socket errors alike
        log.warning("sent-marker of event %s not stored: %s", event_id, error)
