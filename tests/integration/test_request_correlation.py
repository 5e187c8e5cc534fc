"""One id from the POST to the SMTP send, no mocks: the web app (test client, real
Postgres) gets X-Request-ID and stores it on the outbox row; the outbox relay, which
publishes later and outside any request, puts it on the message as a header (never
in the payload); the `celery worker` process logs it on the email's outcome line."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from bookshelf_tasks.names import EMAIL_QUEUE, REQUEST_ID_HEADER
from devstack.broker import BrokerServer
from devstack.mailbox import Mailbox
from devstack.worker import CeleryWorker
from tests.integration.outbox_relay import OutboxRelay
from tests.integration.support import (
    MakeWeb,
    Outbox,
    logged_in_client,
    message_id,
    relay_pass,
    wait_for_lines,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def idle_broker(stack_dir: Path) -> Iterator[BrokerServer]:
    """A broker no worker reads: what the web publishes stays there to be looked at."""
    server = BrokerServer(stack_dir / f"idle-broker-{uuid.uuid4().hex[:6]}")
    try:
        yield server.start()
    finally:
        server.stop()


def add_book(client: FlaskClient, request_id: str) -> None:
    response = client.post(
        "/books/new",
        data={"title": "Rayuela", "author": "Julio Cortázar", "isbn": "", "year": "", "notes": ""},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["X-Request-ID"] == request_id


def test_the_posts_request_id_reaches_the_workers_outcome_line(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    relay: OutboxRelay,
    outbox: Outbox,
    mailhog: Mailbox,
    address: str,
) -> None:
    """The relay process publishes the row outside any request: the id comes from it."""
    client, user_id = logged_in_client(make_web(broker.url), address)
    request_id = f"itest-{uuid.uuid4().hex[:12]}"
    add_book(client, request_id)
    [event] = outbox.owned_by(user_id)
    assert event["request_id"] == request_id

    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.message_id == message_id(event["id"])
    [line] = wait_for_lines(worker, "sent", event["id"])
    assert line.endswith(f"task_id={event['id']} attempt=1 request_id={request_id}"), line
    row = outbox.wait_for([event["id"]], "sent", timeout=10)[event["id"]]
    assert (row["publications"], row["attempts"]) == (1, 1)


def test_a_relay_pass_names_the_post_in_a_header_not_the_payload(
    make_web: MakeWeb, idle_broker: BrokerServer, own_outbox: Outbox, address: str
) -> None:
    """One pass of our own, on a database of our own (no relay process there, and no
    other test's row), to a broker no worker reads: its one message stays to be read."""
    web = make_web(idle_broker.url, own_outbox.url)
    client, user_id = logged_in_client(web, address)
    request_id = f"itest-{uuid.uuid4().hex[:12]}"
    add_book(client, request_id)
    [event] = own_outbox.owned_by(user_id)
    assert (event["status"], event["request_id"]) == ("pending", request_id)

    assert relay_pass(web).published == 1  # long after the request, in no request
    idle = redis.Redis.from_url(idle_broker.url)
    raw = idle.rpop(EMAIL_QUEUE)
    assert isinstance(raw, bytes) and idle.llen(EMAIL_QUEUE) == 0
    idle.close()
    message = json.loads(raw)
    assert message["headers"]["id"] == event["id"]
    assert message["headers"][REQUEST_ID_HEADER] == request_id
    assert message["properties"]["body_encoding"] == "base64"
    body = base64.b64decode(message["body"])
    assert event["id"].encode() in body and request_id.encode() not in body
