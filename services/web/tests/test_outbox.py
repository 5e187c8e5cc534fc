"""The outbox: a book change and its EmailEvent commit in one transaction, or neither."""

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from bookshelf import outbox
from bookshelf.book_input import BookInput
from bookshelf.extensions import db
from bookshelf.models import Book, EmailEvent, User
from bookshelf_tasks import BookEvent

DUNE = BookInput(title="Dune", author="Frank Herbert", isbn="9780441172719", year=1965, notes=None)


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def user(app_ctx: Flask, auth: Any) -> User:
    account = auth.create_user(name="Ana", locale="en")
    return db.session.get(User, account.id)


@pytest.fixture
def sql_log(app_ctx: Flask) -> Iterator[list[str]]:
    """Every statement and COMMIT on the engine, in order."""
    log: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        log.append(" ".join(statement.split()[:3]))

    def on_commit(conn: Any) -> None:
        log.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", on_execute)
    event.listen(db.engine, "commit", on_commit)
    yield log
    event.remove(db.engine, "before_cursor_execute", on_execute)
    event.remove(db.engine, "commit", on_commit)


def rows(model: Any, owner_id: int) -> list[Any]:
    db.session.expire_all()
    return list(db.session.scalars(select(model).where(model.owner_id == owner_id)))


def test_add_writes_book_and_event_in_one_transaction(user: User, sql_log: list[str]) -> None:
    book, email_event = outbox.add_book(user, DUNE)
    writes = [entry for entry in sql_log if entry.startswith(("INSERT", "COMMIT"))]
    assert writes == ["INSERT INTO books", "INSERT INTO email_events", "COMMIT"]
    assert email_event.status == "pending" and email_event.kind == "added"
    assert email_event.payload["book_id"] == book.id


def test_delete_writes_event_and_removes_book_in_one_transaction(
    user: User, sql_log: list[str]
) -> None:
    book, _added = outbox.add_book(user, DUNE)
    sql_log.clear()
    outbox.delete_book(user, book)
    writes = [e for e in sql_log if e.startswith(("INSERT", "DELETE", "COMMIT"))]
    assert writes == ["INSERT INTO email_events", "DELETE FROM books", "COMMIT"]
    assert rows(Book, user.id) == []
    assert sorted(e.kind for e in rows(EmailEvent, user.id)) == ["added", "deleted"]


def test_payload_is_a_valid_book_event(user: User) -> None:
    _book, email_event = outbox.add_book(user, DUNE)
    payload = BookEvent.from_dict(email_event.payload)  # the shared contract validates it
    assert payload.event_id == email_event.id
    assert (payload.user_email, payload.user_name, payload.locale) == (user.email, "Ana", "en")
    assert (payload.title, payload.author, payload.isbn, payload.year) == (
        "Dune",
        "Frank Herbert",
        "9780441172719",
        1965,
    )
    assert payload.occurred_at.endswith("+00:00")


def test_deleted_event_keeps_a_snapshot_of_the_book(user: User) -> None:
    book, _added = outbox.add_book(user, DUNE)
    book_id = book.id
    deleted = outbox.delete_book(user, book)
    assert BookEvent.from_dict(deleted.payload).book_id == book_id
    assert deleted.payload["title"] == "Dune"


def test_failing_event_rolls_the_book_back(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_payload(*args: Any) -> dict[str, Any]:
        raise RuntimeError("payload could not be built")

    monkeypatch.setattr(outbox, "book_event_payload", broken_payload)
    with pytest.raises(RuntimeError):
        outbox.add_book(user, DUNE)
    assert rows(Book, user.id) == []
    assert rows(EmailEvent, user.id) == []


def test_event_rejected_by_the_database_rolls_the_book_back(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = outbox._record
    monkeypatch.setattr(outbox, "_record", lambda kind, u, b: record("bogus-kind", u, b))
    with pytest.raises(IntegrityError):
        outbox.add_book(user, DUNE)
    assert rows(Book, user.id) == []


def test_failing_event_on_delete_keeps_the_book(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, _added = outbox.add_book(user, DUNE)
    record = outbox._record
    monkeypatch.setattr(outbox, "_record", lambda kind, u, b: record("bogus-kind", u, b))
    with pytest.raises(IntegrityError):
        outbox.delete_book(user, book)
    assert [b.title for b in rows(Book, user.id)] == ["Dune"]
    assert [e.kind for e in rows(EmailEvent, user.id)] == ["added"]


def test_mark_queued_and_failed(user: User) -> None:
    _book, email_event = outbox.add_book(user, DUNE)
    outbox.mark_failed(email_event, "broker down")
    assert (email_event.status, email_event.last_error) == ("pending", "broker down")
    outbox.mark_queued(email_event, "task-123")
    [stored] = rows(EmailEvent, user.id)
    assert (stored.status, stored.task_id, stored.last_error) == ("queued", "task-123", None)
    assert stored.queued_at is not None


def test_undeliverable_is_failed_and_a_refused_retry_makes_it_pending_again(user: User) -> None:
    _book, email_event = outbox.add_book(user, DUNE)
    outbox.mark_undeliverable(email_event, "invalid payload")
    assert (email_event.status, email_event.last_error) == ("failed", "invalid payload")
    outbox.mark_failed(email_event, "broker down")  # the user's retry met a dead broker
    [stored] = rows(EmailEvent, user.id)
    assert (stored.status, stored.last_error) == ("pending", "broker down")
