"""Delivery states on /notifications, read from a real Redis result backend and recorded
on the outbox row once final.

No worker runs here: the task states are written with Celery's own backend API
(`store_result`), in the JSON shape the worker writes them; tests/integration has the
same path with a real worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from celery import states
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from bookshelf import notifications, outbox
from bookshelf.book_input import BookInput
from bookshelf.celery_app import producer
from bookshelf.extensions import db
from bookshelf.models import EmailEvent, User
from bookshelf_tasks import EMAIL_QUEUE
from devstack.broker import BrokerServer

# Celery's Redis backend calls redis-py's deprecated setex when it stores a state.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")

BOOK = BookInput("Pedro Páramo", "Juan Rulfo", None, 1955, None)


class EmailFailed(Exception):
    """Stands in for bookshelf_worker.failures.EmailFailed: Celery stores the type name."""


@pytest.fixture
def app(make_app: Callable[..., Flask], broker: BrokerServer) -> Flask:
    return make_app(CELERY_BROKER_URL=broker.url)


@pytest.fixture
def store(broker: BrokerServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(broker.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def queued_events(app: Flask, auth: Any, store: redis.Redis) -> Callable[[int], list[str]]:
    """`n` events of a fresh logged-in user, queued on the real broker."""

    def make(n: int) -> list[str]:
        account = auth.new_user()
        with app.app_context():
            user = db.session.get(User, account.id)
            ids = []
            for _ in range(n):
                _book, event = outbox.add_book(user, BOOK)
                assert notifications.dispatch(event)
                ids.append(event.id)
            return ids

    return make


def set_state(app: Flask, task_id: str, state: str, result: Any = None) -> None:
    with app.app_context():
        producer().backend.store_result(task_id, result, state)


def row(app: Flask, event_id: str) -> EmailEvent:
    with app.app_context():
        event = db.session.get(EmailEvent, event_id)
        db.session.expunge(event)
        return event


def command_calls(store: redis.Redis, command: str) -> int:
    return int(store.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_a_sent_email_is_recorded_and_outlives_the_result_backend(
    app: Flask, client: FlaskClient, queued_events: Any, store: redis.Redis
) -> None:
    [event_id] = queued_events(1)
    set_state(app, event_id, states.SUCCESS, "sent")
    assert "Enviado" in client.get("/notifications/").get_data(as_text=True)
    stored = row(app, event_id)
    assert stored.status == "sent" and stored.delivered_at is not None
    assert abs((datetime.now(UTC) - stored.delivered_at).total_seconds()) < 60

    store.flushall()  # result_expires has passed: the backend forgot the task
    assert "Enviado" in client.get("/notifications/").get_data(as_text=True)
    assert row(app, event_id).status == "sent"


def test_a_failed_email_is_recorded_with_the_workers_reason(
    app: Flask, client: FlaskClient, queued_events: Any
) -> None:
    [event_id] = queued_events(1)
    reason = "permanent failure: 550 mailbox unavailable"
    set_state(app, event_id, states.FAILURE, EmailFailed(reason))
    page = client.get("/notifications/").get_data(as_text=True)
    assert reason in page and "Reintentar" in page
    stored = row(app, event_id)
    assert (stored.status, stored.last_error) == ("failed", reason)


@pytest.mark.parametrize(
    ("celery_state", "shown"),
    [(states.PENDING, "queued"), (states.STARTED, "sending"), (states.RETRY, "retrying")],
)
def test_states_in_flight_are_shown_but_not_recorded(
    app: Flask, queued_events: Any, celery_state: str, shown: str
) -> None:
    [event_id] = queued_events(1)
    if celery_state != states.PENDING:
        set_state(app, event_id, celery_state)
    with app.app_context():
        assert notifications.delivery_state(db.session.get(EmailEvent, event_id)) == shown
    assert row(app, event_id).status == "queued"


def test_a_page_reads_all_its_queued_states_in_one_round_trip(
    app: Flask, client: FlaskClient, queued_events: Any, store: redis.Redis
) -> None:
    ids = queued_events(4)
    set_state(app, ids[0], states.STARTED)
    mget, get = command_calls(store, "mget"), command_calls(store, "get")
    assert client.get("/notifications/").status_code == 200
    assert command_calls(store, "mget") == mget + 1
    assert command_calls(store, "get") == get


def test_retry_of_a_failed_email_queues_the_same_event_afresh(
    app: Flask, client: FlaskClient, queued_events: Any, store: redis.Redis
) -> None:
    [event_id] = queued_events(1)
    set_state(app, event_id, states.FAILURE, EmailFailed("transient failure: SMTP down"))
    client.get("/notifications/")  # records 'failed'
    first_queued_at = row(app, event_id).queued_at

    page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert "El correo de confirmación se puso en cola." in page.get_data(as_text=True)
    stored = row(app, event_id)
    assert (stored.status, stored.task_id, stored.last_error) == ("queued", event_id, None)
    assert stored.queued_at is not None and stored.queued_at > first_queued_at
    # The old FAILURE is gone: the new run is not mistaken for it.
    with app.app_context():
        assert notifications.delivery_state(db.session.get(EmailEvent, event_id)) == "queued"
    published = [json.loads(m)["headers"]["id"] for m in store.lrange(EMAIL_QUEUE, 0, -1)]
    assert published == [event_id, event_id]  # same task id, so the same Message-ID


def test_an_outcome_read_before_a_retry_does_not_overwrite_it(
    app: Flask, queued_events: Any
) -> None:
    [event_id] = queued_events(1)
    with app.app_context():
        seen = db.session.get(EmailEvent, event_id)
        db.session.expunge(seen)
        db.session.execute(
            text("UPDATE email_events SET queued_at = now() + interval '1 second' WHERE id = :id"),
            {"id": event_id},
        )  # re-queued by a retry meanwhile
        assert outbox.record_outcome(seen, "failed", error="old run") is False
        db.session.commit()
    assert row(app, event_id).status == "queued"


def test_retry_of_a_sent_email_is_refused(
    app: Flask, client: FlaskClient, queued_events: Any
) -> None:
    [event_id] = queued_events(1)
    set_state(app, event_id, states.SUCCESS, "sent")
    client.get("/notifications/")
    page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert "Ese correo ya se envió." in page.get_data(as_text=True)
    assert row(app, event_id).status == "sent"


def test_retry_while_a_relay_holds_the_row_queues_nothing(
    app: Flask, client: FlaskClient, auth: Any, store: redis.Redis
) -> None:
    account = auth.new_user()
    with app.app_context():
        _book, event = outbox.add_book(db.session.get(User, account.id), BOOK)
        event_id = event.id
        with db.engine.connect() as relay:
            relay.execute(
                text("SELECT id FROM email_events WHERE id = :id FOR UPDATE"), {"id": event_id}
            )
            page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
            relay.rollback()
    assert "Ese correo ya está en cola." in page.get_data(as_text=True)
    assert store.llen(EMAIL_QUEUE) == 0
    assert row(app, event_id).status == "pending"


def test_unreadable_backend_shows_queued_and_records_nothing(
    make_app: Callable[..., Flask], queued_events: Any
) -> None:
    [event_id] = queued_events(1)
    down = make_app()  # the unreachable broker of conftest
    with down.app_context():
        assert notifications.delivery_state(db.session.get(EmailEvent, event_id)) == "queued"
    assert row(down, event_id).status == "queued"


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        (
            {"status": "FAILURE", "result": {"exc_type": "EmailFailed", "exc_message": ["x 5"]}},
            "x 5",
        ),
        (
            {"status": "FAILURE", "result": {"exc_type": "KeyError", "exc_message": ["k"]}},
            "KeyError: k",
        ),
        ({"status": "REVOKED", "result": {"exc_type": "TaskRevokedError"}}, "TaskRevokedError"),
        ({"status": "REJECTED", "result": None}, "REJECTED"),
    ],
)
def test_failure_reason(meta: dict[str, Any], reason: str) -> None:
    assert notifications.failure_reason(meta) == reason
