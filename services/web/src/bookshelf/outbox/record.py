"""Outbox rows, written in the transaction of the change they announce: a book change
(add_book, edit_book, delete_book) or an account's notice (record_notice); the relay publishes
them (docs/architecture.md, "Email delivery state"). For a book change the user's email
preference decides what it writes: an outbox row (each), a book_activity row for the
daily digest (digest), or nothing (none)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.activity import BookActivity
from bookshelf.library.book_input import BookInput
from bookshelf.library.models import Book
from bookshelf.outbox.models import EmailEvent
from bookshelf.request_id import current_request_id
from bookshelf.throttle import email_pace
from bookshelf_tasks.delivery import EmailStatus, HoldReason
from bookshelf_tasks.digest import EmailPreference
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
        "timezone": user.timezone,
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
    # An address nobody verified gets no book email: it waits, with no due time, for the
    # verification; past the account's email pace it is deferred (throttle/email_pace.py).
    hold: HoldReason | None
    if user.email_verified_at is None:
        hold, wait = HoldReason.UNVERIFIED, NO_WAIT
    else:
        hold = HoldReason.RATE_LIMITED if wait else None
    event = _add(user.id, book_event_payload(event_id, kind, user, book), hold, wait)
    log.info(
        "email event %s (%s) recorded for book %s", event_id, kind, book.id,
        extra={"event_id": event_id},
    )  # fmt: skip
    return event


def record_notice(
    user: User,
    kind: str,
    details: dict[str, Any],
    *,
    to: str | None = None,
    name: str | None = None,
    hold: HoldReason | None = None,
) -> EmailEvent:
    """Add the outbox row of a Notice of `kind` for `user` (to `to`, else their address;
    greeting `name`, else theirs) to the session; the caller commits it with the change
    it announces. Raises PayloadError, before anything is written, if it is not valid."""
    notice = Notice(
        event_id=str(uuid.uuid4()),
        kind=kind,
        occurred_at=datetime.now(UTC).isoformat(),
        user_email=to or user.email,
        user_name=name or user.name,
        locale=user.locale,
        details=details,
    )
    event = _add(user.id, notice.to_dict(), hold)
    log.info(
        "email event %s (%s) recorded for user %s", notice.event_id, kind, user.id,
        extra={"event_id": notice.event_id},
    )  # fmt: skip
    return event


def _announce(kind: str, user: User, book: Book) -> EmailEvent | None:
    """What the change leaves for the user's emails, as their preference says."""
    if user.emails is EmailPreference.EACH:
        return _record(kind, user, book, email_pace.reserve(user.id))
    if user.emails is EmailPreference.DIGEST:
        db.session.add(
            BookActivity(
                owner_id=user.id,
                kind=kind,
                title=book.title,
                author=book.author,
                occurred_at=datetime.now(UTC),
            )
        )
    return None


def add_book(user: User, data: BookInput) -> tuple[Book, EmailEvent | None]:
    """Save the book and its email, as the user's preference says; EmailRateLimited
    (nothing saved) past the account's email limit."""
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
        event = _announce("added", user, book)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return book, event


def edit_book(user: User, book: Book, data: BookInput) -> tuple[Book, EmailEvent | None]:
    """Every field of `book` set from `data`, and its email if the user asked for one on
    each edit (email_on_edit, with the `each` preference only: the digest lists adds and
    deletes); EmailRateLimited (nothing saved) past the account's email limit."""
    try:
        book.title, book.author, book.isbn = data.title, data.author, data.isbn
        book.year, book.notes = data.year, data.notes
        event = None
        if user.email_on_edit and user.emails is EmailPreference.EACH:
            db.session.flush()
            event = _record("edited", user, book, email_pace.reserve(user.id))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return book, event


def delete_book(user: User, book: Book) -> EmailEvent | None:
    try:
        event = _announce("deleted", user, book)
        db.session.delete(book)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return event
