"""Helpers for the tests that hurt a real worker from outside: a broker killed without
warning, an SMTP server that counts what it accepted, and the outbox rows and
messages of emails published as the web publishes them."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from celery import Celery
from kombu.exceptions import OperationalError
from sqlalchemy import create_engine, insert, text

from bookshelf_tasks import signature_for
from bookshelf_tasks.delivery import events
from devstack.broker import BrokerServer
from devstack.ports import free_port
from tests.integration.support import new_book_event


def kill(broker: BrokerServer) -> None:
    """SIGKILL, as an OOM kill or a crashed host does: no goodbye to the clients. The
    broker runs keydb.conf (appendonly yes), so `broker.start()` brings it back on the
    same port with its queue and kombu's `unacked` hash."""
    proc = broker.process.proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


class CountingSMTP:
    """Accepts every message after `delay` seconds (a send takes a moment, so that a
    broker kill finds emails in flight) and records each recipient."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.accepted: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"

    def count(self, address: str) -> int:
        with self._lock:
            return self.accepted.count(address)

    def total(self) -> int:
        with self._lock:
            return len(self.accepted)


@contextmanager
def smtp_server(handler: CountingSMTP) -> Iterator[int]:
    """Serves `handler` on a free port, yielded."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class Publisher:
    """Publishes book-added emails as the web does: the outbox row first ('queued',
    which the worker claims before sending), then the message."""

    def __init__(self, producer: Celery, database_url: str) -> None:
        self.producer = producer
        self.engine = create_engine(database_url)
        with self.engine.begin() as connection:
            self.owner_id = connection.execute(
                text(
                    "INSERT INTO users (name, email, password_hash, created_at) "
                    "VALUES ('Ana', :email, '-', now()) RETURNING id"
                ),
                {"email": f"owner-{uuid.uuid4().hex[:12]}@example.com"},
            ).scalar_one()

    def publish(self, mailbox: str) -> str | None:
        """Enqueues one email to a fresh address, returned; None if the broker refused
        it (it is down), which a test that kills the broker takes in its stride."""
        address = f"{mailbox}-{uuid.uuid4().hex[:8]}@example.com"
        event = new_book_event(
            kind="added", user_email=address, user_name="Ana", locale="es", book_id=7,
            title="Rayuela", author="Julio Cortázar",
        )  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(
                insert(events).values(
                    id=event.event_id, owner_id=self.owner_id, kind=event.kind,
                    payload=event.to_dict(), status="queued", created_at=text("now()"),
                    due_at=text("now() + interval '10 minutes'"),
                )
            )  # fmt: skip
        try:
            signature_for(event, app=self.producer).apply_async()
        except OperationalError:
            return None
        return address

    def close(self) -> None:
        self.engine.dispose()
