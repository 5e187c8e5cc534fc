"""dispatch.publish: the request publishes its own row after the commit (queued, leased
for QUEUED_LEASE); a broker that is down leaves it pending with the reason, for the
relay; a worker's claim that wins the race against the publication is never overwritten.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.book_input import BookInput
from bookshelf.outbox import record
from bookshelf.outbox.dispatch import publish
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.relay import relay_due
from bookshelf_tasks import delivery
from bookshelf_tasks.delivery import EmailStatus
from bookshelf_tasks.names import REQUEST_ID_HEADER
from devstack.broker import BrokerServer
from devstack.ports import free_port
from services.web.tests.outbox.support import (
    EmailQueue,
    add_events,
    corrupt_payload,
    put_in_state,
    row,
)
from services.web.tests.support import Account, AuthActions, MakeApp

BOOK = {"title": "Rayuela", "author": "Julio Cortázar"}
BOOK_INPUT = BookInput("Rayuela", "Julio Cortázar", None, None, None)


def only_event_of(app: Flask, owner_id: int) -> str:
    with app.app_context():
        [event_id] = db.session.scalars(
            db.select(EmailEvent.id).where(EmailEvent.owner_id == owner_id)
        )
        return event_id


def test_the_request_records_the_row_and_the_relay_publishes_it(
    app: Flask, client: FlaskClient, auth: AuthActions, queue: EmailQueue
) -> None:
    account = auth.new_user()
    response = client.post("/books/new", data=BOOK, headers={"X-Request-ID": "req-0123456789"})
    assert response.status_code == 302
    event_id = only_event_of(app, account.id)
    with app.app_context():
        recorded = row(event_id)
        assert (recorded.status, recorded.publications) == ("pending", 0)
        assert recorded.due_in is not None and recorded.due_in <= 0  # due at once
        assert queue.length() == 0  # the request itself never publishes
        relay_due()
        stored = row(event_id)
    assert (stored.status, stored.publications, stored.attempts) == ("queued", 1, 0)
    assert stored.due_in is not None and 55 < stored.due_in <= 60  # Leases.queued
    assert stored.last_error is None
    [headers] = queue.headers()
    assert headers["id"] == event_id  # the task id is the event id
    assert headers[REQUEST_ID_HEADER] == "req-0123456789"


def test_the_api_reports_the_email_recorded(
    app: Flask, client: FlaskClient, auth: AuthActions, queue: EmailQueue
) -> None:
    auth.new_user()
    created = client.post("/api/v1/books", json=BOOK).get_json()
    assert created["notification"]["status"] == "pending"
    assert set(created["notification"]) == {"event_id", "status"}
    assert queue.length() == 0


def test_a_result_backend_left_in_the_environment_is_never_used(
    make_app: MakeApp,
    outbox_database_url: str,
    broker: BrokerServer,
    queue: EmailQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CELERY_RESULT_BACKEND left in an .env is never used. Celery reads it before the
    app's conf, and a task sent by name subscribes to the backend for each message
    unless its result is ignored: an unreachable one would make every publication
    fail, a reachable one would collect a subscription each."""
    monkeypatch.setenv("CELERY_RESULT_BACKEND", f"redis://127.0.0.1:{free_port()}/0")
    app = make_app(SQLALCHEMY_DATABASE_URI=outbox_database_url, CELERY_BROKER_URL=broker.url)
    with app.app_context():
        user = db.session.get(User, AuthActions(app, app.test_client(), "x").create_user().id)
        assert user is not None
        _book, event = record.add_book(user, BOOK_INPUT)
        assert publish(event)
        assert row(event.id).status == "queued"
    assert queue.length() == 1


def test_broker_down_leaves_the_row_pending_with_the_reason_until_the_relay_publishes_it(
    app: Flask, down_app: Flask, password_hash: str, queue: EmailQueue, no_rows: None
) -> None:
    client = down_app.test_client()
    account = AuthActions(down_app, client, password_hash).new_user(locale="en")
    page = client.post("/books/new", data=BOOK, follow_redirects=True).get_data(as_text=True)
    assert "was added to your library" in page  # the request does not wait for the broker
    event_id = only_event_of(down_app, account.id)
    with down_app.app_context():
        assert relay_due().broker_down  # the relay could not publish it
    with app.app_context():
        pending = row(event_id)
        assert (pending.status, pending.publications) == ("pending", 0)
        assert (pending.last_error or "").startswith("broker unavailable: ")
        relay_due()  # the broker is back
        relayed = row(event_id)
    assert (relayed.status, relayed.publications) == ("queued", 1)
    assert relayed.due_in is not None and 55 < relayed.due_in <= 60
    assert queue.event_ids() == [event_id]


def test_a_workers_claim_during_the_publication_is_not_overwritten(
    ctx: Flask, user: Account, queue: EmailQueue
) -> None:
    [event_id] = add_events(user.id)
    event = db.session.get(EmailEvent, event_id)
    assert event is not None and event.state is EmailStatus.PENDING  # what publish reads
    # The relay published it meanwhile and a worker claimed that copy first.
    claim = delivery.claim(db.engine, event_id)
    assert claim is not None

    assert publish(event)  # on the broker: the worker's claim will drop that copy
    stored = row(event_id)
    assert (stored.status, stored.attempts, stored.publications) == ("sending", 1, 0)
    assert stored.due_in is not None and 55 < stored.due_in <= 60  # the worker's lease
    assert queue.length() == 1


def test_the_publication_only_moves_the_state_it_read(ctx: Flask, user: Account) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.SENT, due_in=None)
    assert not delivery.record_published(db.engine, event_id, EmailStatus.PENDING)
    assert not delivery.record_published(db.engine, event_id, EmailStatus.SENT)
    put_in_state(event_id, EmailStatus.SENDING, due_in=-1, data_sent=True)
    assert not delivery.record_published(db.engine, event_id, EmailStatus.SENDING)
    assert row(event_id).status == "sending"


def test_an_invalid_payload_fails_for_good_without_a_message(
    ctx: Flask, user: Account, queue: EmailQueue
) -> None:
    [event_id] = add_events(user.id)
    corrupt_payload(event_id)
    event = db.session.get(EmailEvent, event_id)
    assert event is not None
    assert not publish(event)
    stored = row(event_id)
    assert (stored.status, stored.due_in) == ("failed", None)
    assert "user_email" in (stored.last_error or "")
    assert queue.length() == 0


def test_broker_down_keeps_a_queued_row_as_it_was(down_app: Flask, user: Account) -> None:
    with down_app.app_context():
        [event_id] = add_events(user.id)
        put_in_state(event_id, EmailStatus.QUEUED, due_in=-5, publications=1)
        event = db.session.get(EmailEvent, event_id)
        assert event is not None
        assert not publish(event)
        stored = row(event_id)
    assert (stored.status, stored.publications, stored.last_error) == ("queued", 1, None)
    assert stored.due_in is not None and stored.due_in < 0  # still due: the next pass tries
