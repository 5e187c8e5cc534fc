"""Outbox rows, written in the transaction of the change they announce: a book change
(add_book, delete_book) or an account's notice (record_notice); the relay publishes
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
from bookshelf_tasks.delivery import EmailStatus, HoldReason
from bookshelf_tasks.notices import Notice

log = logging.getLogger(__name__)
NO_WAIT = timedelta(0)


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


def _add(
    owner_id: int, payload: dict[str, Any], hold: HoldReason | None, wait: timedelta = NO_WAIT
) -> EmailEvent:
    event = EmailEvent(
        id=payload["event_id"],
        owner_id=owner_id,
        kind=payload["kind"],
        payload=payload,
        status=EmailStatus.PENDING.value,
        attempts=0,
        publications=0,
        # Due now: the relay, woken at commit (relay.py), publishes it. Held: no due
        # time, until released (bookshelf_tasks.delivery.release_holds); or, deferred
        # by the account's email pace (throttle/email_pace.py), due when it may go.
        due_at=func.now() + wait if wait else (None if hold else func.now()),
        hold_reason=hold.value if hold else None,
        created_at=datetime.now(UTC),
        request_id=current_request_id(),
    )
    db.session.add(event)
    return event


def _record(kind: str, user: User, book: Book, wait: timedelta) -> EmailEvent:
    event_id = str(uuid.uuid4())
    hold = HoldReason.RATE_LIMITED if wait else None
    event = _add(user.id, book_event_payload(event_id, kind, user, book), hold, wait)
    log.info("email event %s (%s) recorded for book %s", event_id, kind, book.id)
    return event


def record_notice(
    user: User,
    kind: str,
    details: dict[str, Any],
    *,
    to: str | None = None,
    hold: HoldReason | None = None,
) -> EmailEvent:
    """Add the outbox row of a Notice of `kind` for `user` (to `to`, else their address)
    to the session; the caller commits it with the change it announces. Raises
    PayloadError, before anything is written, if the notice is not valid."""
    notice = Notice(
        event_id=str(uuid.uuid4()),
        kind=kind,
        occurred_at=datetime.now(UTC).isoformat(),
        user_email=to or user.email,
        user_name=user.name,
        locale=user.locale,
        details=details,
    )
    event = _add(user.id, notice.to_dict(), hold)
    log.info("email event %s (%s) recorded for user %s", notice.event_id, kind, user.id)
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
