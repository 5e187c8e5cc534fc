"""Real servers for the integration tests, each on free ports: one Postgres for the run
(a database migrated once with Flask-Migrate, then copied for each module, or for each
test that needs the outbox to itself), MailHog, and per module a Redis-protocol broker,
a `celery worker` process and an outbox relay process on that module's database. A test
with its own database has its own broker and worker too (`own_worker`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from flask import Flask
from flask_migrate import upgrade

from bookshelf import create_app
from bookshelf_tasks.celery_config import celery_settings, configure
from devstack.broker import BrokerServer
from devstack.flavours import CatcherServer, catcher_choice, catcher_server
from devstack.mailbox import Mailbox
from devstack.postgres import PostgresServer
from devstack.worker import CeleryWorker
from tests.integration.outbox_relay import OutboxRelay
from tests.integration.support import (
    MIGRATIONS,
    UNREACHABLE_BROKER,
    MakeWeb,
    Outbox,
    clone_database,
    dispose_web,
    unique_address,
    web_config,
)

TEMPLATE = "bookshelf_template"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def migrated_template(postgres: PostgresServer) -> str:
    """The name of a database migrated as the stack migrates it, to copy from."""
    url = postgres.create_database(TEMPLATE)
    app = create_app(web_config(url, UNREACHABLE_BROKER))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
    dispose_web(app)  # a template must have no connections when it is copied
    return TEMPLATE


@pytest.fixture(scope="module")
def database_url(postgres: PostgresServer, migrated_template: str) -> str:
    """The module's own migrated database; its worker and web apps share it."""
    return clone_database(postgres, migrated_template)


@pytest.fixture(scope="module")
def outbox(database_url: str) -> Iterator[Outbox]:
    table = Outbox(database_url)
    yield table
    table.close()


@pytest.fixture
def own_outbox(postgres: PostgresServer, migrated_template: str) -> Iterator[Outbox]:
    """A migrated database for this test alone: no other test's row is ever due in
    it, so a relay pass there handles exactly this test's rows."""
    table = Outbox(clone_database(postgres, migrated_template))
    yield table
    table.close()


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="module")
def broker(stack_dir: Path) -> Iterator[BrokerServer]:
    server = BrokerServer(stack_dir / "broker")
    try:
        yield server.start()
    finally:  # also when it never got ready: nothing outlives the module
        server.stop()


@pytest.fixture(scope="session")
def mailhog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatcherServer]:
    server = catcher_server(catcher_choice(), tmp_path_factory.mktemp("mail-catcher"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def mailhog(mailhog_server: CatcherServer) -> Mailbox:
    return mailhog_server.client()


@pytest.fixture(scope="module")
def worker(
    stack_dir: Path, broker: BrokerServer, mailhog_server: CatcherServer, database_url: str
) -> Iterator[CeleryWorker]:
    process = CeleryWorker(
        stack_dir, broker.url, mailhog_server.smtp_port, database_url=database_url
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="module")
def relay_interval() -> float:
    """The module relay's sweep period. Short, so that a due time no INSERT announces
    is acted on within a second; a module that must see the NOTIFY alone at work
    overrides it with a long one."""
    return 1.0


@pytest.fixture(scope="module")
def relay(
    stack_dir: Path, database_url: str, broker: BrokerServer, relay_interval: float
) -> Iterator[OutboxRelay]:
    """The outbox relay process on the module's database and broker: what a web add
    commits there is published by it, as in production. A test that wants to run the
    relay's passes itself does so on a database of its own (`own_outbox`)."""
    process = OutboxRelay(stack_dir, database_url, broker.url, interval=relay_interval)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[BrokerServer]:
    """A broker for this test alone."""
    server = BrokerServer(tmp_path / "own-broker")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def own_worker(
    tmp_path: Path, own_broker: BrokerServer, own_outbox: Outbox, mailhog_server: CatcherServer
) -> Iterator[CeleryWorker]:
    """A worker on this test's own database, reading its own broker: what a relay pass
    publishes there reaches this worker, whose claims find the test's rows."""
    process = CeleryWorker(
        tmp_path,
        own_broker.url,
        mailhog_server.smtp_port,
        database_url=own_outbox.url,
        name="own-worker",
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="module")
def producer(broker: BrokerServer) -> Iterator[Celery]:
    """A publish-only Celery app with the web app's settings (bookshelf.outbox.producer)."""
    app = configure(
        Celery("integration-producer", set_as_current=False), celery_settings(broker.url)
    )
    yield app
    app.close()


@pytest.fixture
def address() -> str:
    """A recipient no other test uses."""
    return unique_address()


@pytest.fixture
def make_web(database_url: str) -> Iterator[MakeWeb]:
    """Web apps on the module's database (or the one given), each with its broker URL."""
    made: list[Flask] = []

    def make(broker_url: str, url: str | None = None) -> Flask:
        app = create_app(web_config(url or database_url, broker_url))
        made.append(app)
        return app

    yield make
    for app in made:
        dispose_web(app)
