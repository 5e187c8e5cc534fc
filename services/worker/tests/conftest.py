"""A real SMTP server (aiosmtpd) per test, scripted to accept, defer, refuse or hang,
a real Redis for task results and sent-markers, and the worker's Flask + Celery app
pointed at both."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from bookshelf_tasks import BookEvent
from bookshelf_worker.app import create_app
from bookshelf_worker.config import WorkerSettings
from devstack.broker import BrokerServer
from devstack.ports import free_port

MAIL_TIMEOUT = 1.0
HANG = "hang"


@dataclass
class ScriptedSMTPHandler:
    """Answers DATA with the next scripted reply ("250 ...", "451 ...", or HANG);
    the last reply repeats. RCPT replies can be scripted the same way."""

    data_replies: list[str] = field(default_factory=lambda: ["250 OK"])
    rcpt_reply: str = "250 OK"
    delivered: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    data_attempts: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        index = min(self.data_attempts, len(self.data_replies) - 1)
        reply = self.data_replies[index]
        self.data_attempts += 1
        if reply == HANG:
            # Say nothing until the test ends; the client must give up on its own.
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "421 closing"
        if reply.startswith("250"):
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            self.delivered.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.original_content)
        return reply


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
def results_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerServer]:
    """Where the tasks keep their sent-markers (eager runs store no task states)."""
    server = BrokerServer(tmp_path_factory.mktemp("results")).start()
    yield server
    server.stop()


@pytest.fixture
def worker_app(smtp: tuple[ScriptedSMTPHandler, int], results_redis: BrokerServer) -> Flask:
    settings = WorkerSettings(
        # Never contacted: the tests run tasks eagerly with .apply().
        broker_url=f"redis://127.0.0.1:{free_port()}/0",
        result_backend=results_redis.url,
        mail_server="127.0.0.1",
        mail_port=smtp[1],
        mail_default_sender="Bookshelf <no-reply@bookshelf.test>",
        mail_timeout=MAIL_TIMEOUT,
    )
    return create_app(settings)


@pytest.fixture
def make_event() -> Callable[..., BookEvent]:
    def make(kind: str = "added", **changes: Any) -> BookEvent:
        # A unique address per test, so no test reads another's mail.
        fields: dict[str, Any] = {
            "kind": kind,
            "user_email": f"reader-{uuid.uuid4().hex[:12]}@example.com",
            "user_name": "Ana Núñez",
            "locale": "es",
            "book_id": 7,
            "title": "Rayuela",
            "author": "Julio Cortázar",
            "isbn": "9788437604572",
            "year": 1963,
        }
        fields.update(changes)
        return BookEvent.create(**fields)

    return make
