"""The outbox at a glance, across every user, for the operator: how many emails wait
in each state and for how long. Two small reads, each served by a partial index (the
relay's on in-flight rows, ix_email_events_due; the dead letters',
ix_email_events_dead_letters): 'sent' rows, nearly all of the table, are never counted.
Emails held back on purpose (delivery.HoldReason) are counted apart: they are not late."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, extract, func, not_, or_, select, text
from sqlalchemy.sql.expression import ColumnElement

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


def _held() -> ColumnElement[bool]:
    """Held back on purpose (an unverified owner): not late, so not counted as pending.
    The complement of bookshelf_tasks.delivery's `_not_held`."""
    return and_(
        EmailEvent.hold_reason.is_not(None),
        or_(EmailEvent.due_at.is_(None), EmailEvent.due_at > func.now()),
    )


def _group(statuses: frozenset[EmailStatus]) -> list[StatusSummary]:
    age = extract("epoch", func.now() - func.min(EmailEvent.created_at))
    query = (
        select(EmailEvent.status, func.count(), age)
        .where(EmailEvent.status.in_([status.value for status in statuses]), not_(_held()))
        .group_by(EmailEvent.status)
    )
    return [
        StatusSummary(EmailStatus(status), count, float(seconds or 0))
        for status, count, seconds in db.session.execute(query)
    ]


@dataclass(frozen=True)
class OutboxSummary:
    statuses: list[StatusSummary]  # every watched status, zeros for the empty ones
    held: int  # pending rows held back on purpose, not counted in 'pending'


def status_summary() -> OutboxSummary:
    """The outbox at this moment. Needs an app context."""
    db.session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    found = {row.status: row for row in _group(IN_FLIGHT) + _group(DEAD_LETTERS)}
    pending = EmailEvent.status == EmailStatus.PENDING.value
    held = db.session.scalar(select(func.count()).where(pending, _held())) or 0
    db.session.rollback()
    statuses = [found.get(status, StatusSummary(status, 0, 0.0)) for status in WATCHED]
    return OutboxSummary(statuses, held)
