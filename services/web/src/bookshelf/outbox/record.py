"""Book changes and their outbox rows, written in one transaction; the relay publishes
them (docs/architecture.md, "Email delivery state")."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.book_input import BookInput
from bookshelf.library.models import Book
from bookshelf.outbox.models import EmailEvent
from bookshelf.request_id import current_request_id
from bookshelf.throttle import email_pace
from bookshelf_tasks.delivery import EmailStatus

log = logging.getLogger(__name__)


def book_event_payload(event_id: str, kind: str, user: User, book: Book) -> dict[str, Any]:
    """The BookEvent fields of docs/architecture.md, as plain JSON values."""
    return {
        "event_id": event_id,
        "kind": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_email": user.email,
        "user_name": user.name,
        "locale": user.locale,
        "book_id": book.id,
        "title": book.title,
        "author": book.author,
        "isbn": book.isbn,
        "year": book.year,
    }


def _record(kind: str, user: User, book: Book, wait: timedelta) -> EmailEvent:
    event_id = str(uuid.uuid4())
    event = EmailEvent(
        id=event_id,
        owner_id=user.id,
        kind=kind,
        payload=book_event_payload(event_id, kind, user, book),
        status=EmailStatus.PENDING.value,
        attempts=0,
        publications=0,
        # The relay, woken at commit (relay.py), publishes it; or later, when the
        # account's email pace defers it (throttle/email_pace.py).
        due_at=func.now() + wait if wait else func.now(),
        created_at=datetime.now(UTC),
        request_id=current_request_id(),
    )
    db.session.add(event)
    log.info("email event %s (%s) recorded for book %s", event_id, kind, book.id)
    return event


def add_book(user: User, data: BookInput) -> tuple[Book, EmailEvent]:
    """Save the book and its email; EmailRateLimited (nothing saved) past the account's
    email limit."""
    wait = email_pace.reserve(user.id)
    book = Book(
        owner_id=user.id,
        title=data.title,
        author=data.author,
        isbn=data.isbn,
        year=data.year,
        notes=data.notes,
    )
    try:
        db.session.add(book)
        db.session.flush()  # assigns book.id for the payload
        event = _record("added", user, book, wait)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return book, event


def delete_book(user: User, book: Book) -> EmailEvent:
    wait = email_pace.reserve(user.id)
    try:
        event = _record("deleted", user, book, wait)
        db.session.delete(book)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return event
