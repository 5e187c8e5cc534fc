"""The user's "send again", shared by the status page and the API."""

from __future__ import annotations

from enum import StrEnum

from bookshelf.extensions import db
from bookshelf.outbox.dispatch import publish_all
from bookshelf.outbox.models import EmailEvent
from bookshelf.throttle import email_pace
from bookshelf_tasks import delivery


class ResendOutcome(StrEnum):
    QUEUED = "queued"  # on the broker again
    NOT_RESENDABLE = "not-resendable"  # sent, or on its way: unchanged
    BROKER_DOWN = "broker-down"  # pending: the relay publishes it later
    INVALID = "invalid"  # its payload is refused: failed, with the reason
    HELD = "held"  # held back (hold_reason): not the user's to release


def resend(event: EmailEvent) -> ResendOutcome:
    """failed/uncertain/pending → pending with a fresh retry budget, then publish.

    A resend takes a slot of the account's email pace now, or is refused
    (EmailRateLimited): never deferred."""
    if event.hold is not None:
        return ResendOutcome.HELD
    if event.can_resend:
        email_pace.reserve(event.owner_id, may_defer=False)
    if not delivery.record_resend(db.session.connection(), event.id):
        db.session.rollback()
        return ResendOutcome.NOT_RESENDABLE
    db.session.refresh(event)  # 'pending' now, and locked by that UPDATE until the commit
    done = publish_all([event])
    db.session.commit()
    db.session.refresh(event)  # what the caller shows: queued, or already claimed
    if done.published:
        return ResendOutcome.QUEUED
    return ResendOutcome.INVALID if done.invalid else ResendOutcome.BROKER_DOWN
