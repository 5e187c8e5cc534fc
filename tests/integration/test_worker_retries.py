"""The retry policy in a real `celery worker` process: a 451 comes back after its
countdown (an ETA message held by the worker, acks_late) and is then delivered; a
550 fails at once. States are read as the web reads them, from the result backend."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from celery.result import AsyncResult

from bookshelf_tasks import BookEvent, signature_for
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.process import wait_until
from devstack.worker import CeleryWorker

pytestmark = pytest.mark.integration


class ByRecipient:
    """Answers DATA with the reply scripted for the recipient's mailbox name:
    'defer-once' gets one 451, 'refuse' always 550, anything else 250."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.delivered: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        rcpt = envelope.rcpt_tos[0]
        attempts = self.seen[rcpt] = self.seen.get(rcpt, 0) + 1
        if rcpt.startswith("refuse"):
            return "550 5.7.1 refused by policy"
        if rcpt.startswith("defer-once") and attempts == 1:
            return "451 4.3.0 try again later"
        self.delivered.append(rcpt)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[ByRecipient, int]]:
    handler, port = ByRecipient(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture(scope="module")
def scripted_worker(
    stack_dir: Path, broker: BrokerServer, smtp: tuple[ByRecipient, int]
) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(stack_dir, broker.url, smtp[1], name="scripted-smtp-worker").start()
    yield worker
    worker.stop()


def send(producer: Celery, mailbox: str) -> tuple[str, AsyncResult]:
    address = f"{mailbox}-{uuid.uuid4().hex[:8]}@example.com"
    event = BookEvent.create(
        kind="added", user_email=address, user_name="Ana", locale="en", book_id=1,
        title="Invisible Cities", author="Italo Calvino",
    )  # fmt: skip
    return address, signature_for(event, app=producer).apply_async()


def states_until_ready(result: AsyncResult, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = AsyncResult(result.id, app=result.app).state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("SUCCESS", "FAILURE"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"task {result.id} still {seen[-1:]} after {timeout}s: {seen}")


def test_a_451_is_retried_after_its_countdown_then_delivered(
    scripted_worker: CeleryWorker, producer: Celery, smtp: tuple[ByRecipient, int]
) -> None:
    handler = smtp[0]
    address, result = send(producer, "defer-once")
    seen = states_until_ready(result, timeout=20)
    assert seen[-1] == "SUCCESS"
    assert "RETRY" in seen  # what the notifications page shows as "retrying"
    assert handler.seen[address] == 2 and handler.delivered.count(address) == 1


def test_a_550_fails_once_without_retry(
    scripted_worker: CeleryWorker, producer: Celery, smtp: tuple[ByRecipient, int]
) -> None:
    handler = smtp[0]
    address, result = send(producer, "refuse")
    assert states_until_ready(result, timeout=20)[-1] == "FAILURE"
    log = scripted_worker.log_path
    assert wait_until(lambda: f"outcome=failed event_id={result.id}" in log.read_text(), 5)
    assert log.read_text().count(f"outcome=failed event_id={result.id}") == 1
    assert "smtp_code=550" in log.read_text()
    assert handler.seen[address] == 1
