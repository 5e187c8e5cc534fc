"""The worker's Redis transport against a real Redis: a channel closed after kombu let
go of its transport's client still restores its unacknowledged messages.

The order below is the one a broker restart produces in Celery's consumer
(Connection.collect() ends with _do_close_transport(); Connection.close() then
closes the channel that collect() failed to close); tests/integration/
test_broker_restarts.py shows it with a real worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import redis as redis_py
from flask import Flask
from kombu import Connection, Queue
from kombu.transport import redis as kombu_redis

from bookshelf_worker import broker_transport
from devstack.broker import BrokerServer


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerServer]:
    server = BrokerServer(tmp_path_factory.mktemp("transport")).start()
    yield server
    server.stop()


@pytest.fixture
def client(broker: BrokerServer) -> redis_py.Redis:
    """The broker's Redis, emptied: kombu's `unacked` hash is shared by all queues."""
    client = redis_py.Redis.from_url(broker.url)
    client.flushdb()
    return client


def closed_after_its_transport(broker_url: str, transport: str | None) -> tuple[Queue, object]:
    """Opens a connection, takes one message without acking it, then tears down in
    the order of a broker restart: the transport's client first, the channel after.
    Returns the queue, and what closing the channel raised (None if nothing)."""
    queue = Queue(f"transport-{uuid.uuid4().hex[:8]}")
    conn = Connection(broker_url, transport=transport)
    with conn.Producer() as producer:
        producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
    channel = conn.default_channel
    message = queue(channel).get(no_ack=False)
    assert message is not None and message.payload == {"n": 1}

    conn._do_close_transport()  # transport.client = None, as collect() leaves it
    try:
        channel.close()
    except AttributeError as error:
        return queue, error
    return queue, None


def test_a_channel_closed_after_its_transport_restores_its_unacked_message(
    broker: BrokerServer, client: redis_py.Redis
) -> None:
    queue, raised = closed_after_its_transport(broker.url, broker_transport.TRANSPORT)

    assert raised is None
    assert client.llen(queue.name) == 1  # back on the queue, redelivered at once
    assert client.hlen("unacked") == 0


def test_stock_kombu_still_crashes_there(broker: BrokerServer, client: redis_py.Redis) -> None:
    """When this fails, kombu fixed the bug: drop broker_transport (see its docstring)."""
    queue, raised = closed_after_its_transport(broker.url, None)

    assert isinstance(raised, AttributeError) and "hostname" in str(raised)
    assert client.llen(queue.name) == 0 and client.hlen("unacked") == 1  # stranded


def test_the_worker_app_connects_with_it_through_the_redis_url(worker_app: Flask) -> None:
    """kombu honours an explicit transport over the URL's scheme, and still parses
    host, port and database out of the URL."""
    celery = worker_app.extensions["celery"]
    conn = celery.connection_for_read()

    assert celery.conf.broker_url.startswith("redis://")
    assert isinstance(conn.transport, broker_transport.Transport)
    assert isinstance(conn.transport, kombu_redis.Transport)
    assert conn.transport.driver_type == "redis"  # Celery's Redis-only code paths
    url = urlparse(celery.conf.broker_url)
    assert (conn.hostname, conn.port, conn.virtual_host) == (url.hostname, url.port, "0")
    assert conn.clone().transport_cls == broker_transport.TRANSPORT  # reconnects too
    conn.release()
