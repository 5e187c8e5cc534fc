"""The thread pool in a real `celery worker` process: several emails in flight at once
through an SMTP server that takes 200 ms per message, each thread on one reused
connection. Concurrency is counted at the server (sessions in DATA at the same time),
never timed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from celery import Celery

from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.process import tail, wait_until
from devstack.worker import CeleryWorker
from tests.integration.worker_faults import Publisher

pytestmark = pytest.mark.integration

THREADS = 8
EMAILS = 3 * THREADS
SEND_SECONDS = 0.2


class SlowCountingSMTP:
    """Answers DATA after SEND_SECONDS; counts sessions (EHLO) and the most DATA in
    progress at once."""

    def __init__(self) -> None:
        self.sessions = 0
        self.active = 0
        self.peak = 0
        self.accepted: list[str] = []

    async def handle_EHLO(
        self, server: object, session: object, envelope: object, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        self.sessions += 1  # the handlers run on the server's one event loop thread
        session.host_name = hostname  # type: ignore[attr-defined]
        return responses

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(SEND_SECONDS)
        finally:
            self.active -= 1
        self.accepted.extend(envelope.rcpt_tos)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowCountingSMTP, int]]:
    handler, port = SlowCountingSMTP(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_a_thread_pool_worker_sends_many_emails_at_once_on_reused_connections(
    tmp_path: Path,
    broker: BrokerServer,
    producer: Celery,
    database_url: str,
    slow_smtp: tuple[SlowCountingSMTP, int],
) -> None:
    handler, port = slow_smtp
    publisher = Publisher(producer, database_url)
    worker = CeleryWorker(
        tmp_path, broker.url, port, database_url=database_url, name="threads",
        pool="threads", concurrency=THREADS,
    )  # fmt: skip
    try:
        with worker:
            addresses = [publisher.publish("pool") for _ in range(EMAILS)]
            assert None not in addresses
            assert wait_until(lambda: len(handler.accepted) >= EMAILS, 60), tail(worker.log_path)
    finally:
        publisher.close()
    assert sorted(handler.accepted) == sorted(addresses)  # each once
    # Sends overlapped: more than half the threads were in DATA together.
    assert handler.peak > THREADS // 2, handler.peak
    # And no thread opened a connection per email: at most one each.
    assert handler.sessions <= THREADS, handler.sessions
    assert f"concurrency: {THREADS} (thread)" in worker.log_path.read_text()  # Celery's banner
