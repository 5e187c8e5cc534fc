"""The outbox at a glance, across every user, for the operator: how many emails wait
in each state and for how long. Two small reads, each served by a partial index (the
relay's on in-flight rows, ix_email_events_due; the dead letters',
ix_email_events_dead_letters): 'sent' rows, nearly all of the table, are never counted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import extract, func, select, text

from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks.delivery import DEAD_LETTERS, IN_FLIGHT, EmailStatus

WATCHED = tuple(sorted(IN_FLIGHT | DEAD_LETTERS))
# A scrape must not queue up behind a busy database: give up after this.
STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class StatusSummary:
    status: EmailStatus
    count: int
    oldest_seconds: float  # age (since it was written) of the oldest one; 0 when none


def _group(statuses: frozenset[EmailStatus]) -> list[StatusSummary]:
    age = extract("epoch", func.now() - func.min(EmailEvent.created_at))
    query = (
        select(EmailEvent.status, func.count(), age)
        .where(EmailEvent.status.in_([status.value for status in statuses]))
        .group_by(EmailEvent.status)
    )
    return [
        StatusSummary(EmailStatus(status), count, float(seconds or 0))
        for status, count, seconds in db.session.execute(query)
    ]


def status_summary() -> list[StatusSummary]:
    """Every watched status, with zeros for the empty ones. Needs an app context."""
    db.session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    found = {row.status: row for row in _group(IN_FLIGHT) + _group(DEAD_LETTERS)}
    db.session.rollback()
    return [found.get(status, StatusSummary(status, 0, 0.0)) for status in WATCHED]
