"""The work behind each email task, as plain functions the tests can call alone."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bookshelf_tasks import Email, PayloadError, email_from_dict
from bookshelf_tasks.celery_config import EMAIL_RETRY_BACKOFF_BASE, EMAIL_RETRY_BACKOFF_MAX
from bookshelf_worker.extensions import mail
from bookshelf_worker.mail import build_message
from bookshelf_worker.rendering import render_email

log = logging.getLogger("bookshelf_worker.email")


def receive(payload: Mapping[str, Any], expected_kind: str) -> Email:
    """Validate the received payload again: the broker is not a trusted boundary."""
    event = email_from_dict(payload)
    if event.kind != expected_kind:
        raise PayloadError("kind", f"expected {expected_kind!r}, got {event.kind!r}")
    return event


def send_email(event: Email) -> None:
    """Render and send one email. Needs an app context; raises what SMTP raises."""
    mail.send(build_message(event, render_email(event)))


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: 2, 4, 8... s capped, each scaled by 0.5-1.0.

    The jitter spreads the retries of a burst of emails that failed together (an
    SMTP server restart), so they do not all come back at the same second.
    """
    ceiling = min(EMAIL_RETRY_BACKOFF_MAX, EMAIL_RETRY_BACKOFF_BASE * 2**retries)
    return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class EmailAttempt:
    """Who a log line is about: the event, the Celery task, which attempt this is, and
    the web request behind it (its X-Request-ID; "-" when the message carried none)."""

    event_id: str
    task_id: str
    attempt: int
    request_id: str = "-"


def log_email(level: int, outcome: str, attempt: EmailAttempt, **details: object) -> None:
    """One structured line per outcome: key=value in the message and in `extra`."""
    fields: dict[str, object] = {"outcome": outcome, **asdict(attempt), **details}
    text = " ".join(
        f"{key}={value!r}" if isinstance(value, str) and " " in value else f"{key}={value}"
        for key, value in fields.items()
    )
    log.log(level, "email %s", text, extra={"email": fields})
