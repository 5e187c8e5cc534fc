"""Fixtures of the shared tests: a real Postgres holding the outbox table; the typed
helpers are in support.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text
from sqlalchemy.engine import Engine

from bookshelf_tasks.delivery import email_events_table
from devstack.postgres import PostgresServer
from shared.tests.support import MakeEvent, MakeNotice, new_book_event, new_notice


@pytest.fixture
def make_event() -> MakeEvent:
    """`new_book_event`, as a fixture for the tests that take it as one."""
    return new_book_event


@pytest.fixture
def make_notice() -> MakeNotice:
    """`new_notice`, as a fixture."""
    return new_notice


@pytest.fixture(scope="session")
def outbox_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A real Postgres holding the outbox table as `delivery` defines it, plus the
    one `users` column its foreign key needs (the web's migrations own the rest)."""
    server = PostgresServer().start()
    engine = create_engine(server.create_database("delivery_test"))
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True))
    email_events_table(metadata)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id) VALUES (1)"))
    yield engine
    engine.dispose()
    server.stop()
