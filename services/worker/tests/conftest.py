"""A real SMTP server (aiosmtpd) per test, scripted to accept, defer, refuse or hang,
a real Postgres migrated as the stack migrates it (the outbox rows the worker claims),
and the worker's Flask + Celery app pointed at both."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bookshelf_tasks import BookEvent, Notice
from devstack.gunicorn import run_migrations
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from services.worker.tests.support import (
    EMAIL_LOGGER,
    SECRET_MARK,
    MakeEvent,
    MakeNotice,
    ScriptedSMTPHandler,
    insert_row,
    worker_app_for,
)


@pytest.fixture
def smtp() -> Iterator[tuple[ScriptedSMTPHandler, int]]:
    handler = ScriptedSMTPHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    handler.released.set()
    controller.stop()


@pytest.fixture
def smtp_handler(smtp: tuple[ScriptedSMTPHandler, int]) -> ScriptedSMTPHandler:
    return smtp[0]


@pytest.fixture(scope="session")
def outbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Postgres with the web's migrations applied (devstack runs the same command)."""
    server = PostgresServer().start()
    url = server.create_database("worker_test")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "test",
        "CELERY_BROKER_URL": "redis://-",
    }
    run_migrations(env, tmp_path_factory.mktemp("migrate") / "migrate.log")
    yield url
    server.stop()


@pytest.fixture(scope="session")
def outbox_engine(outbox_url: str) -> Iterator[Engine]:
    engine = create_engine(outbox_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def owner_id(outbox_engine: Engine) -> int:
    with outbox_engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO users (name, email, password_hash, created_at) "
                    "VALUES ('Ana', 'ana@example.com', '-', now()) RETURNING id"
                )
            ).scalar_one()
        )


@pytest.fixture(autouse=True)
def _capture_email_lines(caplog: pytest.LogCaptureFixture) -> None:
    """The worker's email outcome lines (INFO) reach caplog in every test."""
    caplog.set_level(logging.INFO, logger=EMAIL_LOGGER)


@pytest.fixture
def worker_app(smtp: tuple[ScriptedSMTPHandler, int], outbox_url: str) -> Iterator[Flask]:
    app = worker_app_for(smtp[1], outbox_url)
    yield app
    app.extensions["smtp_pool"].close()
    app.extensions["delivery_engine"].dispose()


@pytest.fixture
def make_event(outbox_engine: Engine, owner_id: int) -> MakeEvent:
    """A BookEvent and its outbox row, published ('queued') as the web leaves it."""

    def make(kind: str = "added", status: str = "queued", **changes: Any) -> BookEvent:
        # A unique address per test, so no test reads another's mail.
        fields: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "occurred_at": datetime.now(UTC).isoformat(),
            "user_email": f"reader-{uuid.uuid4().hex[:12]}@example.com",
            "user_name": "Ana Núñez",
            "locale": "es",
            "book_id": 7,
            "title": "Rayuela",
            "author": "Julio Cortázar",
            "isbn": "9788437604572",
            "year": 1963,
        }
        event = BookEvent.from_dict({**fields, **changes})
        insert_row(outbox_engine, owner_id, event, status)
        return event

    return make


@pytest.fixture
def make_notice(outbox_engine: Engine, owner_id: int) -> MakeNotice:
    """A Notice (verify_address unless told) and its outbox row, published ('queued')."""

    def make(
        kind: str = "verify_address",
        status: str = "queued",
        owner: int | None = None,
        **changes: Any,
    ) -> Notice:
        fields: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "occurred_at": datetime.now(UTC).isoformat(),
            "user_email": f"reader-{uuid.uuid4().hex[:12]}@example.com",
            "user_name": "Ana Núñez",
            "locale": "es",
            "details": {
                "link": f"https://bookshelf.test/auth/verify/{SECRET_MARK}{uuid.uuid4().hex}"
            },
        }
        notice = Notice.from_dict({**fields, **changes})
        insert_row(outbox_engine, owner or owner_id, notice, status)
        return notice

    return make
