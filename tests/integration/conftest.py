"""Real servers for the integration tests: a Redis-protocol broker, MailHog and a
`celery worker` process, each on free ports, started once per module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from bookshelf_tasks.celery_config import configure, producer_settings
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient, MailHogServer
from devstack.worker import CeleryWorker


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
