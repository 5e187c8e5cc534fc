"""Typed helpers of the worker tests (fixtures are in conftest.py): the scripted SMTP
server, the worker app on it, a task run eagerly, its outcome lines and its outbox row."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, BinaryIO, NamedTuple, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from celery.result import EagerResult
from flask import Flask
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from bookshelf_tasks import BookEvent, Email, Notice
from bookshelf_tasks.delivery import events
from bookshelf_worker.app import create_app
from bookshelf_worker.config import WorkerSettings
from devstack.ports import free_port

MAIL_TIMEOUT = 1.0
HANG = "hang"
EMAIL_LOGGER = "bookshelf_worker.email"
MakeEvent = Callable[..., BookEvent]  # the `make_event` fixture: BookEvent fields to change
MakeNotice = Callable[..., Notice]  # the `make_notice` fixture: Notice fields to change
# Part of every secret link make_notice writes: what must never reach a log line.
SECRET_MARK = "SECRET-"


@dataclass
class ScriptedSMTPHandler:
    """Answers DATA with the next scripted reply ("250 ...", "451 ...", or HANG);
    the last reply repeats. RCPT replies can be scripted the same way (rcpt_replies),
    or fixed (rcpt_reply)."""

    data_replies: list[str] = field(default_factory=lambda: ["250 OK"])
    mail_replies: list[str] = field(default_factory=list)  # scripted like data_replies
    mail_attempts: int = 0
    rcpt_reply: str = "250 OK"
    rcpt_replies: list[str] = field(default_factory=list)  # scripted like data_replies
    rcpt_attempts: int = 0
    on_rcpt: Callable[[], None] | None = None  # runs when RCPT arrives, before the reply
    delivered: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    data_attempts: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        reply = "250 OK"
        if self.mail_replies:
            reply = self.mail_replies[min(self.mail_attempts, len(self.mail_replies) - 1)]
        self.mail_attempts += 1
        if reply.startswith("250"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply

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


@dataclass
class CountingSMTPHandler:
    """Accepts everything (after `delay` seconds at DATA) and counts what the client
    did: sessions (EHLO), QUITs, messages, and how many DATA were in progress at once."""

    delay: float = 0.0
    sessions: int = 0
    quits: int = 0
    delivered: list[str] = field(default_factory=list)  # recipients
    active: int = 0
    peak: int = 0
    closed: int = 0  # sessions that ended, counted by TrackingController
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.quits += 1
        return "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            with self.lock:
                self.active -= 1
        with self.lock:
            self.delivered.extend(envelope.rcpt_tos)
        return "250 OK"


class _TrackingSMTP(SMTP):
    """aiosmtpd's server, counting on its handler the sessions that ended (a session
    is a connection that said EHLO: not Controller.start's own readiness probe)."""

    def connection_lost(self, error: Exception | None) -> None:
        greeted = self.session is not None and self.session.host_name is not None
        super().connection_lost(error)
        if greeted and hasattr(self.event_handler, "closed"):
            with self.event_handler.lock:
                self.event_handler.closed += 1


class TrackingController(Controller):
    """A Controller whose server counts the sessions that ended (on a handler that
    has `closed` and `lock`)."""

    def factory(self) -> SMTP:
        return _TrackingSMTP(self.handler, **self.SMTP_kwargs)


class RawSMTPServer:
    """A hand-written SMTP server on a free port, one thread per connection, for the
    misbehaviours aiosmtpd has no hook for: subclasses answer DATA (`_on_data`)."""

    def __init__(self) -> None:
        self.messages = 0  # messages whose final "." was read
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so that stop() is seen between accepts
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 raw ESMTP\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb == b"DATA":
                    if not self._on_data(conn, lines):
                        return
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                elif verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-raw\r\n250 8BITMIME\r\n")
                else:
                    conn.sendall(b"250 OK\r\n")

    def _on_data(self, conn: socket.socket, lines: BinaryIO) -> bool:
        """Answer the DATA command; False ends the session."""
        raise NotImplementedError

    def _read_message(self, conn: socket.socket, lines: BinaryIO) -> None:
        conn.sendall(b"354 go ahead\r\n")
        for body in lines:
            if body in (b".\r\n", b".\n"):
                break
        self.messages += 1


class TricklingSMTP(RawSMTPServer):
    """A server no read timeout catches: after the message's final ".", it answers
    with one more "250-" continuation line every `every` seconds and never the last
    one, until the client hangs up (counted in `dropped`)."""

    def __init__(self, every: float = 0.1) -> None:
        super().__init__()
        self.every = every
        self.dropped = 0

    def _on_data(self, conn: socket.socket, lines: BinaryIO) -> bool:
        self._read_message(conn, lines)
        try:
            while not self._stop.is_set():
                conn.sendall(b"250-still thinking\r\n")
                time.sleep(self.every)
        except OSError:
            self.dropped += 1
        return False


class CuttingSMTP(RawSMTPServer):
    """Hangs up on the DATA command, before its 354, in the first `cuts` sessions
    (counted in `cut`); accepts every message after that."""

    def __init__(self, cuts: int = 1) -> None:
        super().__init__()
        self.cuts = cuts
        self.cut = 0

    def _on_data(self, conn: socket.socket, lines: BinaryIO) -> bool:
        if self.cut < self.cuts:
            self.cut += 1
            conn.shutdown(socket.SHUT_RDWR)
            return False
        self._read_message(conn, lines)
        conn.sendall(b"250 OK\r\n")
        return True


def insert_row(engine: Engine, owner_id: int, event: Email, status: str) -> None:
    """The outbox row of `event`, as the web leaves it once published."""
    with engine.begin() as connection:
        connection.execute(
            insert(events).values(
                id=event.event_id,
                owner_id=owner_id,
                kind=event.kind,
                payload=event.to_dict(),
                status=status,
                created_at=text("now()"),
                due_at=text("now() + interval '1 minute'"),
            )
        )
