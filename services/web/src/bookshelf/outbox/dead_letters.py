"""The operator's view of the outbox across every user: emails by state and age, and
the bulk retry of the failed ones, through the user's own "send again" (resend.py), so
an email is claimed and published exactly as when its owner clicks Retry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, select

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.resend import ResendOutcome, resend
from bookshelf_tasks.delivery import RESENDABLE, EmailStatus

# What `flask outbox retry` may take: not 'pending' (the relay's), not what is moving.
RETRYABLE = tuple(sorted(RESENDABLE - {EmailStatus.PENDING}))


@dataclass(frozen=True)
class Window:
    """Which emails, by when they were written: at or after `since`, before `before`."""

    since: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True)
class DeadLetterPage:
    events: Pagination  # of EmailEvent
    owners: dict[int, str]  # owner_id -> the owner's email


def _query(status: EmailStatus, window: Window) -> Select[EmailEvent, str]:
    query = (
        select(EmailEvent, User.email)
        .join(User, User.id == EmailEvent.owner_id)
        .where(EmailEvent.status == status.value)
        .order_by(EmailEvent.created_at, EmailEvent.id)
    )
    if window.since is not None:
        query = query.where(EmailEvent.created_at >= window.since)
    if window.before is not None:
        query = query.where(EmailEvent.created_at < window.before)
    return query


def events_in(
    status: EmailStatus, window: Window = Window(), limit: int = 100
) -> list[tuple[EmailEvent, str]]:
    """Up to `limit` emails in `status`, oldest first, each with its owner's email."""
    return [
        (event, email) for event, email in db.session.execute(_query(status, window).limit(limit))
    ]


def dead_letter_page(status: EmailStatus, page: int, per_page: int) -> DeadLetterPage:
    """Every user's emails in `status`, oldest first, and their owners' emails."""
    query = (
        select(EmailEvent)
        .where(EmailEvent.status == status.value)
        .order_by(EmailEvent.created_at, EmailEvent.id)
    )
    events = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    owner_ids = {event.owner_id for event in events.items}
    owners = db.session.execute(select(User.id, User.email).where(User.id.in_(owner_ids)))
    return DeadLetterPage(events, {owner_id: email for owner_id, email in owners})


def retry_all(status: EmailStatus, window: Window, limit: int) -> Counter[ResendOutcome]:
    """Resend up to `limit` emails in `status` within `window`, oldest first; how each
    went. Idempotent: a resent email is 'pending' or further on, so a second run with
    the same arguments finds it no more (and resend() refuses anything that moved)."""
    if status not in RETRYABLE:
        raise ValueError(f"only {', '.join(RETRYABLE)} emails are retried in bulk")
    ids: Sequence[str] = db.session.scalars(
        _query(status, window).with_only_columns(EmailEvent.id).limit(limit)
    ).all()
    db.session.rollback()
    outcomes: Counter[ResendOutcome] = Counter()
    for event_id in ids:
        event = db.session.get(EmailEvent, event_id)
        outcomes[resend(event) if event is not None else ResendOutcome.NOT_RESENDABLE] += 1
        db.session.rollback()
    return outcomes
