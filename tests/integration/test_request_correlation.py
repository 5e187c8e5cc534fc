"""One id from the POST to the SMTP send, no mocks: the web app (test client, real
Postgres) gets X-Request-ID, the `celery worker` process logs it on the email's outcome
line; the same when the email was left pending and the outbox relay queued it later."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.models import EmailEvent
from bookshelf.outbox_relay import relay_pending
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient
from devstack.process import wait_until
from devstack.worker import CeleryWorker
from tests.integration.web_app import MakeWeb, closed_broker_url, logged_in_client

pytestmark = pytest.mark.integration


def add_book(client: FlaskClient, request_id: str) -> None:
    response = client.post(
        "/books/new",
        data={"title": "Rayuela", "author": "Julio Cortázar", "isbn": "", "year": "", "notes": ""},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def the_event(app: Flask, user_id: int) -> EmailEvent:
    with app.app_context():
        [event] = db.session.scalars(db.select(EmailEvent).filter_by(owner_id=user_id)).all()
        db.session.expunge(event)
        return event


def outcome_line(worker: CeleryWorker, event_id: str) -> str:
    """The worker's 'sent' line for the event, once it is in the log."""
    found: list[str] = []

    def logged() -> bool:
        found[:] = [
            line
            for line in worker.log_path.read_text().splitlines()
            if f"outcome=sent event_id={event_id} " in line
        ]
        return bool(found)

    assert wait_until(logged, 20), f"no outcome line for {event_id} in {worker.log_path}"
    [line] = found
    return line


def test_the_posts_request_id_reaches_the_workers_outcome_line(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    mailhog: MailHogClient,
    address: str,
) -> None:
    app = make_web(broker.url)
    client, user_id = logged_in_client(app, address)
    request_id = f"itest-{uuid.uuid4().hex[:12]}"

    add_book(client, request_id)
    [email] = mailhog.wait_for(address, 1, timeout=20)
    event = the_event(app, user_id)
    assert email.message_id == f"<{event.id}@bookshelf>"
    assert (event.status, event.request_id) == ("queued", request_id)

    line = outcome_line(worker, event.id)
    assert line.endswith(f"task_id={event.id} attempt=1 request_id={request_id}"), line


def test_a_relayed_email_still_names_the_post_that_caused_it(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    mailhog: MailHogClient,
    address: str,
) -> None:
    down = make_web(closed_broker_url())
    client, user_id = logged_in_client(down, address)
    request_id = f"itest-{uuid.uuid4().hex[:12]}"
    add_book(client, request_id)
    assert the_event(down, user_id).status == "pending"

    up = make_web(broker.url)
    with up.app_context():  # the relay: no request, the row's id
        assert relay_pending(limit=100, older_than=timedelta(0)).queued >= 1
    mailhog.wait_for(address, 1, timeout=20)

    line = outcome_line(worker, the_event(up, user_id).id)
    assert line.endswith(f" request_id={request_id}"), line
