"""/notifications as a status view: one row per email with its book, kind, time and a
human state label in both languages; the pages that lead to it.

States come from a real Redis result backend, written with Celery's own backend API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from celery import states
from flask import Flask
from flask.testing import FlaskClient

from bookshelf import notifications, outbox
from bookshelf.book_input import BookInput
from bookshelf.celery_app import producer
from bookshelf.extensions import db
from bookshelf.models import User
from devstack.broker import BrokerServer

# Celery's Redis backend calls redis-py's deprecated setex when it stores a state.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")

REFRESH = '<meta http-equiv="refresh" content="5">'


class EmailFailed(Exception):
    """Stands in for the worker's EmailFailed: Celery stores the type name and message."""


@pytest.fixture
def app(make_app: Callable[..., Flask], broker: BrokerServer) -> Iterator[Flask]:
    redis.Redis.from_url(broker.url).flushall()
    yield make_app(CELERY_BROKER_URL=broker.url)


def add_event(app: Flask, user_id: int, title: str, queue: bool = True) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        _book, event = outbox.add_book(user, BookInput(title, "Autor", None, None, None))
        if queue:
            assert notifications.dispatch(event)
        return event.id


def set_state(app: Flask, task_id: str, state: str, result: Any = None) -> None:
    with app.app_context():
        producer().backend.store_result(task_id, result, state)


def row_of(page: str, event_id: str) -> str:
    match = re.search(rf'<tr id="event-{event_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {event_id}"
    return " ".join(match.group(1).split())


# (how the email stands, Spanish label, English label)
CASES = [
    ("pending", "Aún sin poner en cola — se reintentará automáticamente",
     "Not queued yet — will retry automatically"),
    ("queued", "En cola, esperando su envío", "Queued, waiting to be sent"),
    ("sending", "Enviándose", "Sending"),
    ("retrying", "El servidor de correo no respondió; reintentando",
     "The mail server did not answer; retrying"),
    ("sent", "Enviado", "Sent"),
    ("failed", "Falló", "Failed"),
]  # fmt: skip
CELERY_STATE = {"sending": states.STARTED, "retrying": states.RETRY, "sent": states.SUCCESS}


@pytest.mark.parametrize("locale", ["es", "en"])
def test_each_row_shows_book_kind_time_and_a_human_state(
    app: Flask, client: FlaskClient, auth: Any, locale: str
) -> None:
    user = auth.new_user(locale=locale)
    ids = {}
    for state, *_labels in CASES:
        ids[state] = add_event(app, user.id, f"Libro {state}", queue=state != "pending")
        if state in CELERY_STATE:
            set_state(app, ids[state], CELERY_STATE[state], "sent")
    failure = EmailFailed("permanent failure: 550 no such user")
    set_state(app, ids["failed"], states.FAILURE, failure)

    page = client.get("/notifications/").get_data(as_text=True)
    for state, spanish, english in CASES:
        row = row_of(page, ids[state])
        assert f"Libro {state}" in row
        assert ("Libro añadido" if locale == "es" else "Book added") in row
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+</time>', row)
        assert f"state-{state}" in row
        assert (spanish if locale == "es" else english) in row, row
    reason = "Motivo" if locale == "es" else "Reason"
    assert f"{reason}: permanent failure: 550 no such user" in row_of(page, ids["failed"])
    retry = "Reintentar" if locale == "es" else "Retry"
    assert [s for s, *_ in CASES if retry in row_of(page, ids[s])] == ["pending", "failed"]


def test_the_page_refreshes_itself_only_while_an_email_is_on_its_way(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    user = auth.new_user()
    sent = add_event(app, user.id, "Ficciones")
    set_state(app, sent, states.SUCCESS, "sent")
    assert REFRESH not in client.get("/notifications/").get_data(as_text=True)
    add_event(app, user.id, "El Aleph")  # queued, not yet picked up
    assert REFRESH in client.get("/notifications/").get_data(as_text=True)


def test_deleted_books_are_labelled_as_such(app: Flask, client: FlaskClient, auth: Any) -> None:
    auth.new_user(locale="en")
    book_url = client.post("/books/new", data={"title": "Borrowed", "author": "X"}).location
    client.post(f"{book_url}/delete")
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count("<td>Borrowed</td>") == 2
    assert "Book added" in page and "Book deleted" in page


def test_added_book_flash_links_to_its_email(app: Flask, client: FlaskClient, auth: Any) -> None:
    auth.new_user()
    page = client.post("/books/new", data={"title": "Dune & <b>", "author": "FH"}).location
    flashed = client.get(page).get_data(as_text=True)
    assert "«Dune &amp; &lt;b&gt;» se añadió a tu biblioteca." in flashed  # still escaped
    assert '<a href="/notifications/">Seguir su correo de confirmación</a>' in flashed
    assert "Aún no se pudo poner en cola" not in flashed


def test_unqueued_flash_says_it_will_retry_and_links_to_the_emails(
    make_app: Callable[..., Flask], auth: Any
) -> None:
    down = make_app()  # conftest's unreachable broker
    client = down.test_client()
    auth.app, auth.client = down, client
    auth.new_user(locale="en")
    page = client.post("/books/new", data={"title": "Dune", "author": "FH"}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "“Dune” was added to your library." in text
    assert "could not be queued yet; it will be retried automatically." in text
    assert '<a href="/notifications/">Follow its confirmation email</a>' in text


def test_books_list_links_to_the_emails(app: Flask, client: FlaskClient, auth: Any) -> None:
    auth.new_user(locale="en")
    client.post("/books/new", data={"title": "Dune", "author": "FH"})
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/notifications/">Confirmation emails</a>' in page
