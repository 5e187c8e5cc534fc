"""The user's "send again", shared by the status page and the API."""

from __future__ import annotations

from typing import Literal

from bookshelf.extensions import db
from bookshelf.outbox.dispatch import publish
from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks import delivery
from bookshelf_tasks.delivery import EmailStatus

ResendOutcome = Literal["queued", "not-resendable", "broker-down", "invalid"]


def resend(event: EmailEvent) -> ResendOutcome:
    """failed/uncertain/pending → pending with a fresh retry budget, then publish."""
    if not delivery.record_resend(db.session.connection(), event.id):
        db.session.rollback()
        return "not-resendable"
    db.session.commit()
    if publish(event):
        return "queued"
    return "invalid" if event.state is EmailStatus.FAILED else "broker-down"
