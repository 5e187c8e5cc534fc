"""One id from the POST to the SMTP send, no mocks: the web app (test client, real
Postgres) gets X-Request-ID and stores it on the outbox row; the message carries it as
a header; the `celery worker` process logs it on the email's outcome line. The same
when the request could not publish and the outbox relay did, later, outside any request."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from bookshelf_tasks import EMAIL_QUEUE, REQUEST_ID_HEADER
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient
from devstack.worker import CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    closed_broker_url,
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
    idle_broker: BrokerServer,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: MailHogClient,
    address: str,
) -> None:
    client, user_id = logged_in_client(make_web(idle_broker.url), address)
    request_id = f"itest-{uuid.uuid4().hex[:12]}"
    add_book(client, request_id)
    [event] = outbox.owned_by(user_id)
    assert (event["status"], event["request_id"]) == ("queued", request_id)

    # web -> message: the header, outside the payload, on the queue no worker reads.
    idle = redis.Redis.from_url(idle_broker.url)
    raw = idle.rpop(EMAIL_QUEUE)
    assert isinstance(raw, bytes) and idle.llen(EMAIL_QUEUE) == 0
    message = json.loads(raw)
    assert message["headers"]["id"] == event["id"]
    assert message["headers"][REQUEST_ID_HEADER] == request_id
    idle.close()

    # message -> worker: the very same message, handed to the broker the worker reads.
    live = redis.Redis.from_url(broker.url)
    live.lpush(EMAIL_QUEUE, raw)
    live.close()
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.message_id == message_id(event["id"])
    [line] = wait_for_lines(worker, "sent", event["id"])
    assert line.endswith(f"task_id={event['id']} attempt=1 request_id={request_id}"), line
    outbox.wait_for([event["id"]], "sent", timeout=10)


def test_a_relayed_email_still_names_the_post_that_caused_it(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: MailHogClient,
    address: str,
) -> None:
    client, user_id = logged_in_client(make_web(closed_broker_url()), address)
    request_id = f"itest-{uuid.uuid4().hex[:12]}"
    add_book(client, request_id)
    [event] = outbox.owned_by(user_id)
    assert (event["status"], event["request_id"]) == ("pending", request_id)

    # The relay: no request of its own; the id comes from the row.
    outbox.force_due([event["id"]])
    assert relay_pass(make_web(broker.url)).published == 1
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.message_id == message_id(event["id"])

    [line] = wait_for_lines(worker, "sent", event["id"])
    assert line.endswith(f" request_id={request_id}"), line
    outbox.wait_for([event["id"]], "sent", timeout=10)
