"""After-commit dispatch seen by the user: the notice when an email cannot be queued,
the /notifications page, and the retry button."""

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf import notifications, outbox
from bookshelf.book_input import BookInput
from bookshelf.extensions import db
from bookshelf.models import Book, EmailEvent, User

BOOK = {"title": "Dune", "author": "Frank Herbert"}
NOT_QUEUED = "Aún no se pudo poner en cola el correo de confirmación"


def events_of(app: Flask, owner_id: int) -> list[EmailEvent]:
    with app.app_context():
        return list(db.session.scalars(select(EmailEvent).where(EmailEvent.owner_id == owner_id)))


def test_unqueued_email_is_announced_but_the_book_is_saved(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    user = auth.new_user()
    page = client.post("/books/new", data=BOOK, follow_redirects=True).get_data(as_text=True)
    assert "«Dune» se añadió a tu biblioteca." in page and NOT_QUEUED in page
    [event] = events_of(app, user.id)
    assert (event.kind, event.status) == ("added", "pending")
    with app.app_context():
        assert db.session.scalar(select(Book.title).where(Book.owner_id == user.id)) == "Dune"


def test_queued_email_shows_no_warning(
    app: Flask, client: FlaskClient, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def queue_it(event: EmailEvent) -> bool:
        outbox.mark_queued(event, f"task-{event.id}")
        return True

    monkeypatch.setattr(notifications, "dispatch", queue_it)
    user = auth.new_user()
    page = client.post("/books/new", data=BOOK, follow_redirects=True).get_data(as_text=True)
    assert NOT_QUEUED not in page
    assert [e.status for e in events_of(app, user.id)] == ["queued"]
    body = client.post("/api/v1/books", json=BOOK).get_json()
    assert body["notification"]["queued"] is True and "message" not in body["notification"]


def test_delete_also_records_an_event(app: Flask, client: FlaskClient, auth: Any) -> None:
    user = auth.new_user()
    book_url = client.post("/books/new", data=BOOK).location
    page = client.post(f"{book_url}/delete", follow_redirects=True).get_data(as_text=True)
    assert NOT_QUEUED in page
    assert sorted(e.kind for e in events_of(app, user.id)) == ["added", "deleted"]


def test_nothing_is_recorded_for_invalid_input(app: Flask, client: FlaskClient, auth: Any) -> None:
    user = auth.new_user()
    assert client.post("/books/new", data={"title": "", "author": ""}).status_code == 422
    assert client.post("/api/v1/books", json={"title": 1}).status_code == 422
    assert events_of(app, user.id) == []


def test_notifications_page_lists_my_events_with_their_state(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    stranger = auth.new_user()
    client.post("/books/new", data={"title": "Stranger's book", "author": "X"})
    auth.new_user()
    assert "Aún no hay correos." in client.get("/notifications/").get_data(as_text=True)
    client.post("/books/new", data=BOOK)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Dune" in page and "Libro añadido" in page and "Aún sin poner en cola" in page
    assert "Reintentar" in page
    assert "Stranger's book" not in page
    assert len(events_of(app, stranger.id)) == 1


def test_retry_dispatches_a_pending_event(app: Flask, client: FlaskClient, auth: Any) -> None:
    user = auth.new_user()
    client.post("/books/new", data=BOOK)
    [event] = events_of(app, user.id)
    response = client.post(f"/notifications/{event.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "se reintentará automáticamente." in response.get_data(as_text=True)
    assert [e.status for e in events_of(app, user.id)] == ["pending"]


def test_retry_of_a_queued_event_does_not_queue_it_again(
    app: Flask, client: FlaskClient, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = auth.new_user()
    client.post("/books/new", data=BOOK)
    [event] = events_of(app, user.id)
    with app.app_context():
        outbox.mark_queued(db.session.get(EmailEvent, event.id), "task-1")
    calls: list[str] = []
    monkeypatch.setattr(notifications, "dispatch", lambda e: calls.append(e.id) or True)
    page = client.post(f"/notifications/{event.id}/retry", follow_redirects=True)
    assert "Ese correo ya está en cola." in page.get_data(as_text=True)
    assert calls == []


def test_retry_of_another_users_event_is_404(app: Flask, client: FlaskClient, auth: Any) -> None:
    owner = auth.new_user()
    client.post("/books/new", data=BOOK)
    [event] = events_of(app, owner.id)
    auth.new_user(name="Mallory")
    assert client.post(f"/notifications/{event.id}/retry").status_code == 404
    assert client.post("/notifications/not-a-uuid/retry").status_code == 404


def test_delivery_state_of_a_pending_event_is_pending(app: Flask, auth: Any) -> None:
    account = auth.create_user()
    with app.app_context():
        user = db.session.get(User, account.id)
        _book, event = outbox.add_book(user, BookInput("T", "A", None, None, None))
        assert notifications.delivery_state(event) == "pending"
