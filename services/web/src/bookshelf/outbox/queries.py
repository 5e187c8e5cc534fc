"""Reads of a user's confirmation emails. Every query filters by owner: (id, owner_id)."""

from __future__ import annotations

import uuid

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent


def owned_event(owner_id: int, event_id: str) -> EmailEvent | None:
    """`event_id` from a URL: anything but a UUID (a NUL byte would be a psycopg2
    error, not a 404) finds nothing."""
    try:
        canonical = str(uuid.UUID(event_id))
    except ValueError:
        return None
    query = select(EmailEvent).where(EmailEvent.id == canonical, EmailEvent.owner_id == owner_id)
    return db.session.scalar(query)


def event_page(owner_id: int, page: int, per_page: int) -> Pagination:
    """The owner's emails, newest first."""
    query = (
        select(EmailEvent)
        .where(EmailEvent.owner_id == owner_id)
        .order_by(EmailEvent.created_at.desc(), EmailEvent.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
