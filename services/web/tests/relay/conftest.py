"""Fixtures for the relay tests, against the real test Postgres and a real
Redis-protocol broker (messages stay on the `email` queue: no worker is needed to see
what was published).

The relay takes every due pending row of its database, so these tests have a database
of their own and empty email_events before each test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text, update

from bookshelf import create_app, outbox
from bookshelf.book_input import BookInput
from bookshelf.extensions import db
from bookshelf.models import EmailEvent, User
from bookshelf.outbox_relay import relay_pending
from bookshelf_tasks import EMAIL_QUEUE
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from services.web.tests.relay.support import NO_GRACE, REQUEST_ID, STALE_AFTER, set_queued_at

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
BOOK = BookInput("Rayuela", "Julio Cortázar", None, 1963, None)


@pytest.fixture(scope="session")
def relay_database_url(postgres: PostgresServer) -> str:
    url = postgres.create_database("relay_test")
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": url,
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        }
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return url


def _headers(client: redis.Redis) -> list[dict[str, Any]]:
    raw = reversed(client.lrange(EMAIL_QUEUE, 0, -1))  # LPUSHed: newest first
    return [json.loads(message)["headers"] for message in raw]


@pytest.fixture
def queue(broker: BrokerServer) -> Iterator[Callable[[], list[str]]]:
    """The task ids on the broker's email queue, in publishing order."""
    client = redis.Redis.from_url(broker.url)
    client.flushall()
    yield lambda: [headers["id"] for headers in _headers(client)]
    client.close()


@pytest.fixture
def messages(broker: BrokerServer) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The headers of the messages on the email queue, in publishing order."""
    client = redis.Redis.from_url(broker.url)
    yield lambda: _headers(client)
    client.close()


@pytest.fixture
def relay_app(
    make_app: Callable[..., Flask], relay_database_url: str, broker: BrokerServer
) -> Iterator[Flask]:
    app = make_app(SQLALCHEMY_DATABASE_URI=relay_database_url, CELERY_BROKER_URL=broker.url)
    with app.app_context():
        db.session.execute(text("DELETE FROM email_events"))
        db.session.commit()
        yield app


@pytest.fixture
def broker_down_app(make_app: Callable[..., Flask], relay_database_url: str) -> Flask:
    """The relay's database, with nothing listening where its broker should be."""
    return make_app(
        SQLALCHEMY_DATABASE_URI=relay_database_url,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
    )


@pytest.fixture
def make_events(relay_app: Flask) -> Callable[..., list[str]]:
    """`n` pending events, the first one the oldest, created `age` ago and 1 s apart."""

    def make(n: int, age: timedelta = timedelta(minutes=1)) -> list[str]:
        user = User(name="Ana", email=f"ana-{time.time_ns()}@example.com", password_hash="x")
        db.session.add(user)
        db.session.commit()
        ids = [outbox.add_book(user, BOOK)[1].id for _ in range(n)]
        start = datetime.now(UTC) - age
        for i, event_id in enumerate(ids):
            db.session.execute(
                update(EmailEvent)
                .where(EmailEvent.id == event_id)
                .values(created_at=start - timedelta(seconds=n - i))
            )
        db.session.commit()
        return ids

    return make


@pytest.fixture
def make_queued(
    make_events: Callable[..., list[str]], broker: BrokerServer
) -> Callable[..., list[str]]:
    """`n` events queued by a relay pass, then the broker's data lost (FLUSHALL, as a
    redis restart without persistence does), each queued `queued_ago` ago."""

    def make(n: int, queued_ago: timedelta = STALE_AFTER + timedelta(minutes=1)) -> list[str]:
        ids = make_events(n)
        db.session.execute(
            update(EmailEvent).where(EmailEvent.id.in_(ids)).values(request_id=REQUEST_ID)
        )
        db.session.commit()
        assert relay_pending(limit=n, older_than=NO_GRACE).queued == n
        redis.Redis.from_url(broker.url).flushall()
        set_queued_at(ids, datetime.now(UTC) - queued_ago)
        return ids

    return make
