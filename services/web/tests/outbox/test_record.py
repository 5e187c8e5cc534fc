"""record.py: a book change and its EmailEvent commit in one transaction, or neither;
the row starts 'pending', due when the request's grace period is over."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.book_input import BookInput
from bookshelf.library.models import Book
from bookshelf.outbox import record
from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks import BookEvent
from services.web.tests.outbox.support import row
from services.web.tests.support import Account

DUNE = BookInput(title="Dune", author="Frank Herbert", isbn="9780441172719", year=1965, notes=None)


@pytest.fixture
def owner(ctx: Flask, user: Account) -> User:
    found = db.session.get(User, user.id)
    assert found is not None
    return found


@pytest.fixture
def sql_log(ctx: Flask) -> Iterator[list[str]]:
    """Every statement and COMMIT on the engine, in order (first three words)."""
    log: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        log.append(" ".join(statement.split()[:3]))

    def on_commit(_conn: Any) -> None:
        log.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", on_execute)
    event.listen(db.engine, "commit", on_commit)
    yield log
    event.remove(db.engine, "before_cursor_execute", on_execute)
    event.remove(db.engine, "commit", on_commit)


def rows_of(model: type[Book] | type[EmailEvent], owner_id: int) -> list[Any]:
    db.session.expire_all()
    return list(db.session.scalars(select(model).where(model.owner_id == owner_id)))


def test_add_writes_book_and_event_in_one_transaction(owner: User, sql_log: list[str]) -> None:
    book, email_event = record.add_book(owner, DUNE)
    writes = [entry for entry in sql_log if entry.startswith(("INSERT", "COMMIT"))]
    assert writes == ["INSERT INTO books", "INSERT INTO email_events", "COMMIT"]
    assert email_event.kind == "added"
    assert email_event.payload["book_id"] == book.id


def test_a_new_event_is_pending_and_due_at_once(owner: User) -> None:
    """Due now: the relay, woken by the INSERT's notification, publishes it."""
    _book, email_event = record.add_book(owner, DUNE)
    stored = row(email_event.id)
    assert (stored.status, stored.attempts, stored.publications) == ("pending", 0, 0)
    assert stored.due_in is not None and stored.due_in <= 0
    assert (stored.data_sent, stored.last_error, stored.delivered_at) == (False, None, None)


def test_delete_writes_event_and_removes_book_in_one_transaction(
    owner: User, sql_log: list[str]
) -> None:
    book, _added = record.add_book(owner, DUNE)
    sql_log.clear()
    record.delete_book(owner, book)
    writes = [e for e in sql_log if e.startswith(("INSERT", "DELETE", "COMMIT"))]
    assert writes == ["INSERT INTO email_events", "DELETE FROM books", "COMMIT"]
    assert rows_of(Book, owner.id) == []
    assert sorted(e.kind for e in rows_of(EmailEvent, owner.id)) == ["added", "deleted"]


def test_payload_is_a_valid_book_event(owner: User) -> None:
    _book, email_event = record.add_book(owner, DUNE)
    payload = BookEvent.from_dict(email_event.payload)  # the shared contract validates it
    assert payload.event_id == email_event.id
    assert (payload.user_email, payload.user_name, payload.locale) == (owner.email, "Ana", "en")
    assert (payload.title, payload.author, payload.isbn, payload.year) == (
        "Dune",
        "Frank Herbert",
        "9780441172719",
        1965,
    )
    assert payload.occurred_at.endswith("+00:00")


def test_deleted_event_keeps_a_snapshot_of_the_book(owner: User) -> None:
    book, _added = record.add_book(owner, DUNE)
    book_id = book.id
    deleted = record.delete_book(owner, book)
    assert BookEvent.from_dict(deleted.payload).book_id == book_id
    assert deleted.payload["title"] == "Dune"


def test_failing_event_rolls_the_book_back(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_payload(*_args: Any) -> dict[str, Any]:
        raise RuntimeError("payload could not be built")

    monkeypatch.setattr(record, "book_event_payload", broken_payload)
    with pytest.raises(RuntimeError):
        record.add_book(owner, DUNE)
    assert rows_of(Book, owner.id) == []
    assert rows_of(EmailEvent, owner.id) == []


def test_event_rejected_by_the_database_rolls_the_book_back(
    owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = record._record
    monkeypatch.setattr(record, "_record", lambda kind, u, b, w: original("bogus-kind", u, b, w))
    with pytest.raises(IntegrityError):
        record.add_book(owner, DUNE)
    assert rows_of(Book, owner.id) == []


def test_failing_event_on_delete_keeps_the_book(
    owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, _added = record.add_book(owner, DUNE)
    original = record._record
    monkeypatch.setattr(record, "_record", lambda kind, u, b, w: original("bogus-kind", u, b, w))
    with pytest.raises(IntegrityError):
        record.delete_book(owner, book)
    assert [b.title for b in rows_of(Book, owner.id)] == ["Dune"]
    assert [e.kind for e in rows_of(EmailEvent, owner.id)] == ["added"]
