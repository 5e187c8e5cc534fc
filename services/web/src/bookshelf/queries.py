"""Reads of a user's data. Every query filters by owner: (id, owner_id)."""

from __future__ import annotations

import uuid

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.models import Book
from bookshelf.outbox.models import EmailEvent

PG_INT_MAX = 2**31 - 1
# The highest page any list serves: page * per_page must stay far below Postgres'
# bigint OFFSET limit (a larger one is a 500, not an empty page).
PAGE_MAX = 1_000_000


def clamp_page(page: int) -> int:
    """A page number from the query string, within 1..PAGE_MAX (HTML lists clamp;
    the API refuses an out-of-range one with a 422)."""
    return min(max(page, 1), PAGE_MAX)


def owned_book(owner_id: int, book_id: int) -> Book | None:
    if not 0 < book_id <= PG_INT_MAX:
        return None
    return db.session.scalar(select(Book).where(Book.id == book_id, Book.owner_id == owner_id))


def book_page(owner_id: int, page: int, per_page: int) -> Pagination:
    """The owner's books by title (case-insensitive), then author, then id."""
    query = (
        select(Book)
        .where(Book.owner_id == owner_id)
        .order_by(func.lower(Book.title), func.lower(Book.author), Book.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


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
    query = (
        select(EmailEvent)
        .where(EmailEvent.owner_id == owner_id)
        .order_by(EmailEvent.created_at.desc(), EmailEvent.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
