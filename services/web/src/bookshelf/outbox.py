"""Book changes and their outbox rows, written in one transaction.

A book insert or delete and the `EmailEvent` describing it commit together, so an
email is never announced for a change that rolled back, and never lost for one that
committed. Enqueueing happens afterwards, in `notifications.dispatch`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from bookshelf.book_input import BookInput
from bookshelf.correlation import current_request_id
from bookshelf.extensions import db
from bookshelf.models import Book, EmailEvent, User

ERROR_MAX = 2000


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


def _record(kind: str, user: User, book: Book) -> EmailEvent:
    event_id = str(uuid.uuid4())
    event = EmailEvent(
        id=event_id,
        owner_id=user.id,
        kind=kind,
        payload=book_event_payload(event_id, kind, user, book),
        status="pending",
        request_id=current_request_id(),
    )
    db.session.add(event)
    return event


def add_book(user: User, data: BookInput) -> tuple[Book, EmailEvent]:
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
        event = _record("added", user, book)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return book, event


def delete_book(user: User, book: Book) -> EmailEvent:
    try:
        event = _record("deleted", user, book)
        db.session.delete(book)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return event


def mark_queued(event: EmailEvent, task_id: str) -> None:
    """For `notifications.dispatch`: the task is on the broker."""
    event.status = "queued"
    event.task_id = task_id
    event.queued_at = datetime.now(UTC)
    event.last_error = None
    event.delivered_at = None
    db.session.commit()


def mark_failed(event: EmailEvent, error: str) -> None:
    """For `notifications.dispatch`: enqueueing failed; the event is (again) pending,
    so the outbox relay retries it."""
    event.status = "pending"
    event.last_error = error[:ERROR_MAX]
    db.session.commit()


def mark_undeliverable(event: EmailEvent, reason: str) -> None:
    """The email will not be sent (an invalid payload); only the user's retry revives it."""
    event.status = "failed"
    event.last_error = reason[:ERROR_MAX]
    db.session.commit()


def record_outcome(
    event: EmailEvent,
    status: str,
    *,
    delivered_at: datetime | None = None,
    error: str | None = None,
) -> bool:
    """Record the worker's final word ('sent' or 'failed') on a queued event; not committed.

    Conditional on the row still being the queueing that was read (status 'queued' and
    the same queued_at): a retry that re-queued it meanwhile is not overwritten.
    True when the row changed.
    """
    assert status in ("sent", "failed"), status
    done = db.session.execute(
        update(EmailEvent)
        .where(
            EmailEvent.id == event.id,
            EmailEvent.status == "queued",
            EmailEvent.queued_at == event.queued_at,
        )
        .values(
            status=status,
            delivered_at=delivered_at,
            last_error=error[:ERROR_MAX] if error else None,
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
