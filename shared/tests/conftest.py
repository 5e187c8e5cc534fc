from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text
from sqlalchemy.engine import Engine

from bookshelf_tasks import BookEvent
from bookshelf_tasks.delivery import email_events_table
from devstack.postgres import PostgresServer


@pytest.fixture
def make_event() -> Callable[..., BookEvent]:
    def make(kind: str = "added", **changes: Any) -> BookEvent:
        fields: dict[str, Any] = {
            "kind": kind,
            "user_email": "ana@example.com",
            "user_name": "Ana",
            "locale": "es",
            "book_id": 7,
            "title": "Rayuela",
            "author": "Julio Cortázar",
            "isbn": None,
            "year": 1963,
        }
        fields.update(changes)
        return BookEvent.create(**fields)

    return make


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
