"""The email tasks, registered under the names in bookshelf_tasks.

Thin on purpose: validation, rendering and sending live in sending.py; a task only
decides between "sent", "already sent" (sent_markers.py), "retry later" and "give up".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from celery import Task, shared_task

from bookshelf_tasks import BOOK_ADDED, BOOK_DELETED, request_id_from
from bookshelf_tasks.celery_config import EMAIL_MAX_RETRIES
from bookshelf_worker.failures import EmailFailed, classify
from bookshelf_worker.sending import (
    EmailAttempt,
    log_email,
    receive,
    retry_countdown,
    send_book_email,
)
from bookshelf_worker.sent_markers import already_sent, mark_sent

SENT = "sent"
DUPLICATE_SKIPPED = "duplicate-skipped"


def _event_id(payload: object) -> str:
    raw = payload.get("event_id") if isinstance(payload, Mapping) else None
    return str(raw)[:36] if raw is not None else "-"


def run_email_task(task: Task, payload: Mapping[str, Any], kind: str) -> str:
    request = task.request
    attempt = EmailAttempt(
        _event_id(payload), str(request.id), request.retries + 1, request_id_from(request) or "-"
    )
    try:
        event = receive(payload, kind)
        if already_sent(task.backend, event.event_id):  # a second message for the event
            log_email(logging.INFO, DUPLICATE_SKIPPED, attempt)
            return DUPLICATE_SKIPPED
        send_book_email(event)
    except Exception as exc:
        failure = classify(exc)
        if failure is None:  # a bug, not an SMTP problem: Celery logs the traceback
            log_email(logging.ERROR, "failed", attempt, error=type(exc).__name__)
            raise
        details = {"failure": failure.kind, "smtp_code": failure.code, "reason": failure.reason}
        if failure.transient and request.retries < EMAIL_MAX_RETRIES:
            countdown = retry_countdown(request.retries)
            log_email(logging.WARNING, "retrying", attempt, **details, countdown=f"{countdown:.1f}")
            raise task.retry(exc=exc, countdown=countdown, max_retries=EMAIL_MAX_RETRIES) from exc
        log_email(logging.ERROR, "failed", attempt, **details)
        raise EmailFailed.of(failure) from exc
    mark_sent(task.backend, event.event_id, task.app.conf.result_expires)
    log_email(logging.INFO, SENT, attempt)
    return SENT


@shared_task(bind=True, name=BOOK_ADDED, throws=(EmailFailed,))
def send_book_added(self: Task, event: dict[str, Any]) -> str:
    return run_email_task(self, event, "added")


@shared_task(bind=True, name=BOOK_DELETED, throws=(EmailFailed,))
def send_book_deleted(self: Task, event: dict[str, Any]) -> str:
    return run_email_task(self, event, "deleted")
