"""The email tasks, registered under the names in bookshelf_tasks.

Thin on purpose: the attempt lives in delivering.py; a task only turns its outcome
into Celery's terms (a retry message, or done).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Retry
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from bookshelf_tasks import BOOK_ADDED, BOOK_DELETED, BOOK_EDITED, PayloadError, request_id_from
from bookshelf_tasks.celery_config import EMAIL_MAX_RETRIES
from bookshelf_tasks.names import NOTICE_NAME_BY_KIND
from bookshelf_worker.delivering import deliver
from bookshelf_worker.metrics import EMAILS
from bookshelf_worker.sending import EmailAttempt, log_email, receive, retry_countdown


def _event_id(payload: object) -> str:
    raw = payload.get("event_id") if isinstance(payload, Mapping) else None
    return str(raw)[:36] if raw is not None else "-"


def _counted(kind: str, outcome: str) -> str:
    EMAILS.labels(kind, outcome).inc()
    return outcome


def run_email_task(task: Task, payload: Mapping[str, Any], kind: str) -> str:
    request = task.request
    attempt = EmailAttempt(
        _event_id(payload), str(request.id), request.retries + 1, request_id_from(request) or "-"
    )
    try:
        event = receive(payload, kind)
    except PayloadError as error:  # the web validates before publishing: not ours to send
        log_email(logging.ERROR, "rejected", attempt, reason=str(error))
        return _counted(kind, "rejected")
    try:
        extensions = current_app.extensions
        attempted = deliver(
            extensions["delivery_engine"], event, attempt, extensions["delivery_leases"]
        )
    except SQLAlchemyError as error:  # no claim made: the row is still due
        if request.retries >= EMAIL_MAX_RETRIES:  # the relay publishes it again, later
            log_email(logging.ERROR, "database-unavailable", attempt, reason=str(error)[:200])
            return _counted(kind, "database-unavailable")
        countdown = retry_countdown(request.retries)
        log_email(logging.WARNING, "database-unavailable", attempt, countdown=f"{countdown:.1f}")
        _counted(kind, "database-unavailable")
        _retry(task, error, countdown, attempt)
        return "database-unavailable"
    _counted(kind, attempted.outcome)
    if attempted.outcome == "retrying" and attempted.countdown is not None:
        _retry(task, None, attempted.countdown, attempt)
    return attempted.outcome


def _retry(task: Task, exc: Exception | None, countdown: float, attempt: EmailAttempt) -> None:
    """Publish the retry message; if the broker refuses, the row's due time brings the
    relay instead (bookshelf_tasks.delivery)."""
    try:
        raise task.retry(exc=exc, countdown=countdown)
    except Retry:
        raise
    except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
        log_email(logging.WARNING, "retry-not-published", attempt, reason=str(error)[:200])


# max_retries=None: the retry budget is the outbox row's (delivery.MAX_ATTEMPTS).
@shared_task(bind=True, name=BOOK_ADDED, max_retries=None)
def send_book_added(self: Task, event: dict[str, Any]) -> str:
    return run_email_task(self, event, "added")


@shared_task(bind=True, name=BOOK_DELETED, max_retries=None)
def send_book_deleted(self: Task, event: dict[str, Any]) -> str:
    return run_email_task(self, event, "deleted")


@shared_task(bind=True, name=BOOK_EDITED, max_retries=None)
def send_book_edited(self: Task, event: dict[str, Any]) -> str:
    return run_email_task(self, event, "edited")


def _notice_task(kind: str, name: str) -> Task:
    def send_notice(self: Task, event: dict[str, Any]) -> str:
        return run_email_task(self, event, kind)

    send_notice.__name__ = send_notice.__qualname__ = f"send_{kind}"
    task: Task = shared_task(bind=True, name=name, max_retries=None)(send_notice)
    return task


# One task per notice kind, registered under its contract name; the same path as the
# book emails (run_email_task → delivering.deliver).
NOTICE_TASKS: dict[str, Task] = {
    kind: _notice_task(kind, name) for kind, name in NOTICE_NAME_BY_KIND.items()
}
