"""X-Request-ID: kept when sane, minted otherwise, on every log line of its request,
stored on the outbox row it writes and sent with every dispatch of that row."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.outbox.dispatch import publish
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.relay import relay_due
from bookshelf.request_id import HANDLER_NAME, RequestIdFilter
from bookshelf_tasks.names import EMAIL_QUEUE, REQUEST_ID_HEADER
from devstack.broker import BrokerServer
from services.web.tests.support import AuthActions, MakeApp

MINTED = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
BOOK = {"title": "Rayuela", "author": "Julio Cortázar", "isbn": "", "year": "1963", "notes": ""}


@pytest.fixture
def log_output(app: Flask) -> Iterator[io.StringIO]:
    """What the app's own log handler writes, for the duration of the test."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert isinstance(handler, logging.StreamHandler)
    output = io.StringIO()
    previous = handler.setStream(output)
    yield output
    handler.setStream(previous)


def add_book(client: FlaskClient, **headers: str) -> Any:
    response = client.post("/books/new", data=BOOK, headers=headers)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response


def latest_event(app: Flask, owner_id: int) -> EmailEvent:
    with app.app_context():
        event = db.session.scalars(
            db.select(EmailEvent)
            .filter_by(owner_id=owner_id)
            .order_by(EmailEvent.created_at.desc())
        ).first()
        assert event is not None
        db.session.expunge(event)
        return event


def test_a_sane_request_id_is_kept_logged_and_stored(
    app: Flask, client: FlaskClient, auth: AuthActions, log_output: io.StringIO
) -> None:
    account = auth.new_user()
    response = add_book(client, **{"X-Request-ID": "abc12345-valid"})

    assert response.headers["X-Request-ID"] == "abc12345-valid"
    event = latest_event(app, account.id)
    assert event.request_id == "abc12345-valid"
    [line] = [x for x in log_output.getvalue().splitlines() if event.id in x]
    assert " INFO bookshelf.outbox.record request_id=abc12345-valid email event " in line


@pytest.mark.parametrize(
    "supplied", [None, "", "short", "two words here", "x" * 65, "evil;INFO=forged", "ñandú-12345"]
)
def test_a_missing_or_malformed_request_id_is_replaced_by_a_minted_one(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    log_output: io.StringIO,
    supplied: str | None,
) -> None:
    account = auth.new_user()
    headers = {} if supplied is None else {"X-Request-ID": supplied}
    minted = add_book(client, **headers).headers["X-Request-ID"]

    assert MINTED.fullmatch(minted) and minted != supplied
    event = latest_event(app, account.id)
    assert event.request_id == minted
    assert f"request_id={minted} email event {event.id}" in log_output.getvalue()
    assert "forged" not in log_output.getvalue()


def test_each_request_gets_its_own_id(client: FlaskClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert MINTED.fullmatch(first) and MINTED.fullmatch(second) and first != second


def test_lines_outside_a_request_show_a_dash(app: Flask, log_output: io.StringIO) -> None:
    with app.app_context():
        logging.getLogger("bookshelf.outbox.relay").warning("a relay pass")
    [line] = log_output.getvalue().splitlines()
    assert line.endswith(" WARNING bookshelf.outbox.relay request_id=- a relay pass")


def test_logging_is_configured_once_however_many_apps(make_app: MakeApp) -> None:
    make_app()
    make_app()
    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1
    assert any(isinstance(f, RequestIdFilter) for f in ours[0].filters)


# --- dispatch sends the row's id, whoever dispatches ---------------------------------


@pytest.fixture
def up_app(make_app: MakeApp, broker: BrokerServer) -> Flask:
    return make_app(CELERY_BROKER_URL=broker.url)


Published = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def published(broker: BrokerServer) -> Iterator[Published]:
    """The message headers of each publication of task `task_id` on the broker's email
    queue (no worker consumes it here), oldest first."""
    client = redis.Redis.from_url(broker.url)

    def headers_of(task_id: str) -> list[dict[str, Any]]:
        raw = reversed(client.lrange(EMAIL_QUEUE, 0, -1))  # LPUSHed: newest first
        messages = [json.loads(message) for message in raw]
        return [m["headers"] for m in messages if m["headers"]["id"] == task_id]

    yield headers_of
    client.close()


def test_the_relays_publication_sends_the_writing_requests_id(
    up_app: Flask, password_hash: str, published: Published
) -> None:
    client = up_app.test_client()
    account = AuthActions(up_app, client, password_hash).new_user()
    add_book(client, **{"X-Request-ID": "abc12345-own"})
    event = latest_event(up_app, account.id)
    assert event.status == "pending"  # the request never publishes

    with up_app.app_context():  # the relay: no request context
        relay_due()
    [headers] = published(event.id)
    assert headers[REQUEST_ID_HEADER] == "abc12345-own"


def test_a_later_dispatch_sends_the_writing_requests_id(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    up_app: Flask,
    published: Published,
) -> None:
    """Written while the broker was down; the relay (no request) and a retry from the
    notifications page (another request) both send the id of the original POST."""
    account = auth.new_user()
    add_book(client, **{"X-Request-ID": "abc12345-origin"})
    pending = latest_event(app, account.id)
    assert pending.status == "pending"

    with up_app.app_context():  # as the relay does: no request context
        assert publish(db.session.get(EmailEvent, pending.id))
    [relayed] = published(pending.id)
    assert relayed[REQUEST_ID_HEADER] == "abc12345-origin"

    retry_client = up_app.test_client()
    AuthActions(up_app, retry_client, "").login_as(account)
    with up_app.app_context():  # make it resendable again
        db.session.get(EmailEvent, pending.id).status = "failed"
        db.session.commit()
    retried = retry_client.post(
        f"/notifications/{pending.id}/retry", headers={"X-Request-ID": "abc12345-retry"}
    )
    assert retried.status_code == 302
    assert latest_event(up_app, account.id).status == "queued"
    assert [h[REQUEST_ID_HEADER] for h in published(pending.id)] == ["abc12345-origin"] * 2


def test_a_hand_edited_request_id_is_dropped_not_the_email(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    up_app: Flask,
    published: Published,
) -> None:
    account = auth.new_user()
    add_book(client)
    event = latest_event(app, account.id)
    with up_app.app_context():
        row = db.session.get(EmailEvent, event.id)
        row.request_id = "not a token"
        db.session.commit()
        assert publish(row)
    [headers] = published(event.id)
    assert REQUEST_ID_HEADER not in headers
