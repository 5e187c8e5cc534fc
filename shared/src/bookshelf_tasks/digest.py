"""The email preference, the activity a daily digest reports, and the digest's one key.

A user whose preference is `digest` gets no email per book: each change writes a
`book_activity` row instead, in the change's transaction, and the digest task turns a
day of them into one outbox row (docs/architecture.md, "Email preferences and digest").
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from celery import signature
from celery.canvas import Signature
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from bookshelf_tasks.names import DIGEST_SEND, JOBS_QUEUE

if TYPE_CHECKING:
    from celery import Celery

# Fixed forever: the digest's event id is derived from it, so that a second run of the
# same day finds the row already there.
DIGEST_NAMESPACE: Final = uuid.UUID("6f1c3a52-2b7e-4f0e-9a43-5d8e0c9b7a11")
# The hour (user's local time) after which yesterday's digest is due.
DIGEST_HOUR: Final = 0


class EmailPreference(StrEnum):
    EACH = "each"  # one confirmation per add and delete (the default)
    DIGEST = "digest"  # one email a day listing the day's changes
    NONE = "none"  # no email about the library

    @property
    def per_book(self) -> bool:
        return self is EmailPreference.EACH


def digest_event_id(user_id: int, day: date) -> str:
    """The outbox row of a user's digest for `day` (their local date): the same id
    however often the digest runs, so the row is inserted once."""
    return str(uuid.uuid5(DIGEST_NAMESPACE, f"digest:{user_id}:{day.isoformat()}"))


def book_activity_table(metadata: MetaData) -> Table:
    """What a digest user did to their library, kept until their digest is written."""
    return Table(
        "book_activity",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("owner_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("title", String(200), nullable=False),
        Column("author", String(200), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        CheckConstraint("kind IN ('added', 'deleted')", name="kind"),
        Index("ix_book_activity_owner_occurred", "owner_id", "occurred_at"),
    )


def digest_signature(day: date | None = None, app: Celery | None = None) -> Signature:
    """The digest task by name: for `day` (every digest user's local date), or without
    it each user's yesterday, as beat sends it."""
    kwargs = {"day": day.isoformat()} if day else {}
    return signature(DIGEST_SEND, kwargs=kwargs, queue=JOBS_QUEUE, app=app)
