"""The user's "send again", shared by the status page and the API."""

from __future__ import annotations

from typing import Literal

from bookshelf.extensions import db
from bookshelf.outbox.dispatch import publish_all
from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks import delivery

ResendOutcome = Literal["queued", "not-resendable", "broker-down", "invalid"]


def resend(event: EmailEvent) -> ResendOutcome:
    """failed/uncertain/pending → pending with a fresh retry budget, then publish."""
    if not delivery.record_resend(db.session.connection(), event.id):
        db.session.rollback()
        return "not-resendable"
    db.session.refresh(event)  # 'pending' now, and locked by that UPDATE until the commit
    done = publish_all([event])
    db.session.commit()
    db.session.refresh(event)  # what the caller shows: queued, or already claimed
    if done.published:
        return "queued"
    return "invalid" if done.invalid else "broker-down"
