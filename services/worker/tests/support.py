"""Typed helpers of the worker tests (fixtures are in conftest.py): the scripted SMTP
server, the worker app on it, a task run eagerly, its outcome lines and its outbox row."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, NamedTuple

import pytest
from celery.result import EagerResult
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bookshelf_tasks import BookEvent
from bookshelf_tasks.delivery import events
from bookshelf_worker.app import create_app
from bookshelf_worker.config import WorkerSettings
from devstack.ports import free_port

MAIL_TIMEOUT = 1.0
HANG = "hang"
EMAIL_LOGGER = "bookshelf_worker.email"
MakeEvent = Callable[..., BookEvent]  # the `make_event` fixture: BookEvent fields to change


@dataclass
class ScriptedSMTPHandler:
    """Answers DATA with the next scripted reply ("250 ...", "451 ...", or HANG);
    the last reply repeats. RCPT replies can be scripted the same way (rcpt_replies),
    or fixed (rcpt_reply)."""

    data_replies: list[str] = field(default_factory=lambda: ["250 OK"])
    rcpt_reply: str = "250 OK"
    rcpt_replies: list[str] = field(default_factory=list)  # scripted like data_replies
    rcpt_attempts: int = 0
    on_rcpt: Callable[[], None] | None = None  # runs when RCPT arrives, before the reply
    delivered: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    data_attempts: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.on_rcpt is not None:
            self.on_rcpt()
        reply = self.rcpt_reply
        if self.rcpt_replies:
            reply = self.rcpt_replies[min(self.rcpt_attempts, len(self.rcpt_replies) - 1)]
        self.rcpt_attempts += 1
        if reply == HANG:
            await self._hang()
            return "421 closing"
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def _hang(self) -> None:
        """Say nothing until the test ends; the client must give up on its own."""
        while not self.released.is_set():
            await asyncio.sleep(0.05)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        index = min(self.data_attempts, len(self.data_replies) - 1)
        reply = self.data_replies[index]
        self.data_attempts += 1
        if reply == HANG:
            await self._hang()
            return "421 closing"
        if reply.startswith("250"):
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            self.delivered.append(message)
            self.raw.append(envelope.original_content)
        return reply


def event_row(engine: Engine, event_id: str) -> Any:
    """The outbox row of `event_id`, as the worker left it."""
    with engine.connect() as connection:
        return connection.execute(select(events).where(events.c.id == event_id)).one()


def worker_app_for(smtp_port: int, database_url: str, **settings: Any) -> Flask:
    """The worker's Flask + Celery app on a local SMTP server. Its broker is never
    contacted: the tests run tasks eagerly (`run_task`)."""
    return create_app(
        WorkerSettings(
            broker_url=f"redis://127.0.0.1:{free_port()}/0",
            database_url=database_url,
            mail_server="127.0.0.1",
            mail_port=smtp_port,
            mail_default_sender="Bookshelf <no-reply@bookshelf.test>",
            **{"mail_timeout": MAIL_TIMEOUT, **settings},
        )
    )


def run_task(app: Flask, name: str, payload: dict[str, Any], **options: Any) -> EagerResult:
    """The task `name` run eagerly on `payload`; `options` as Task.apply takes them
    (task_id, headers)."""
    return app.extensions["celery"].tasks[name].apply(kwargs={"event": payload}, **options)


class EmailLine(NamedTuple):
    fields: dict[str, Any]  # the record's extra["email"]
    message: str


def email_lines(caplog: pytest.LogCaptureFixture) -> list[EmailLine]:
    """The email outcome lines logged so far, in order."""
    return [
        EmailLine(record.email, record.getMessage())
        for record in caplog.records
        if hasattr(record, "email")
    ]
