"""Fixtures for the outbox tests: a database of their own (the relay takes every due
row of its database), the real session broker, and its `email` list read directly.

`app` here publishes to the real broker; `down_app` shares the database but its broker
address has nothing listening, so publishing fails at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from bookshelf.extensions import db
from devstack.broker import BrokerServer
from devstack.postgres import PostgresServer
from services.web.tests.outbox.support import EmailQueue
from services.web.tests.support import Account, AuthActions, MakeApp, migrated_database


@pytest.fixture(scope="session")
def outbox_database_url(postgres: PostgresServer) -> str:
    return migrated_database(postgres, "outbox_test")


@pytest.fixture
def app(make_app: MakeApp, outbox_database_url: str, broker: BrokerServer) -> Flask:
    return make_app(SQLALCHEMY_DATABASE_URI=outbox_database_url, CELERY_BROKER_URL=broker.url)


@pytest.fixture
def down_app(make_app: MakeApp, outbox_database_url: str) -> Flask:
    """The same database, with nothing listening where the broker should be."""
    return make_app(SQLALCHEMY_DATABASE_URI=outbox_database_url)


@pytest.fixture
def queue(broker: BrokerServer) -> Iterator[EmailQueue]:
    """The broker's email list, empty at the start of the test."""
    email_queue = EmailQueue(broker.url)
    email_queue.clear()
    yield email_queue
    email_queue.close()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """`app`'s context for the test's body."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def no_rows(ctx: Flask) -> None:
    """An empty email_events: a relay pass sees only what the test writes."""
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM email_events"))


@pytest.fixture
def user(auth: AuthActions) -> Account:
    """A user of the outbox database (not logged in)."""
    return auth.create_user(locale="en")
