"""Real servers for the integration tests: a Redis-protocol broker, MailHog, a
`celery worker` process and a migrated Postgres for the web app, each on free ports,
started once per module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from flask import Flask
from flask_migrate import upgrade

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf_tasks.celery_config import configure, producer_settings
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient, MailHogServer
from devstack.postgres import PostgresServer
from devstack.worker import CeleryWorker
from tests.integration.web_app import MIGRATIONS, UNREACHABLE_BROKER, MakeWeb, web_config


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="module")
def broker(stack_dir: Path) -> Iterator[BrokerServer]:
    server = BrokerServer(stack_dir / "broker").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mailhog_server(stack_dir: Path) -> Iterator[MailHogServer]:
    server = MailHogServer(stack_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker(
    stack_dir: Path, broker: BrokerServer, mailhog_server: MailHogServer
) -> Iterator[CeleryWorker]:
    process = CeleryWorker(stack_dir, broker.url, mailhog_server.smtp_port).start()
    yield process
    process.stop()


@pytest.fixture
def mailhog(mailhog_server: MailHogServer) -> MailHogClient:
    return mailhog_server.client()


@pytest.fixture(scope="module")
def producer(broker: BrokerServer) -> Iterator[Celery]:
    """A publish-only Celery app, configured exactly as the web app's."""
    app = configure(Celery("integration-producer"), producer_settings(broker.url))
    yield app
    app.close()


@pytest.fixture
def address() -> str:
    """A recipient no other test uses."""
    return f"reader-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A Postgres of the module's own, migrated with Flask-Migrate."""
    with PostgresServer() as server:
        url = server.create_database("bookshelf_integration")
        app = create_app(web_config(url, UNREACHABLE_BROKER))
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            db.engine.dispose()
        yield url


@pytest.fixture
def make_web(database_url: str) -> Iterator[MakeWeb]:
    """Web apps on that database, each with the broker URL it is given."""
    made: list[Flask] = []

    def make(broker_url: str) -> Flask:
        app = create_app(web_config(database_url, broker_url))
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()
