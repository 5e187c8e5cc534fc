"""No mocks: the broker loses its data and no email is lost or doubled.

A redis-server without persistence (no AOF, no RDB snapshots) holds 20 published
emails that no worker has consumed yet; it is SIGKILLed and started again on the same
port, empty. Postgres still says 'queued' for each, with a lease: once the lease has
passed (forced here rather than waited for) the outbox relay publishes every one of
them again, and a worker started afterwards sends each exactly once."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bookshelf_tasks.names import EMAIL_QUEUE
from devstack.broker import broker_binary
from devstack.flavours import CatcherServer
from devstack.mailbox import Mailbox
from devstack.ports import free_port
from devstack.process import ManagedProcess
from devstack.worker import CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    emails_per_event,
    message_id,
    new_user,
    relay_pass,
)

pytestmark = pytest.mark.integration

EVENTS = 20


class VolatileBroker:
    """redis-server with no persistence at all (no AOF, no RDB snapshots): unlike
    devstack's BrokerServer, which runs keydb.conf with its append-only file, what it
    holds is gone when it dies. Started again on the same port, it comes back empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server") or broker_binary()
        argv = [
            binary, "--bind", "127.0.0.1", "--port", str(self.port),
            "--appendonly", "no", "--save", "", "--daemonize", "no",
            "--dir", str(workdir), "--logfile", "",
        ]  # fmt: skip
        self.process = ManagedProcess("volatile-broker", argv, workdir / "broker.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def ready(self) -> bool:
        with self.client() as client:
            return bool(client.ping())

    def start(self) -> VolatileBroker:
        self.process.start()
        self.process.wait_ready(self.ready, timeout=15)
        return self

    def kill_and_restart(self) -> None:
        """SIGKILL (no shutdown hook runs), then the same server on the same port."""
        proc = self.process.proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        self.start()

    def queue_length(self) -> int:
        with self.client() as client:
            return int(client.llen(EMAIL_QUEUE))

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def volatile_broker(tmp_path: Path) -> Iterator[VolatileBroker]:
    server = VolatileBroker(tmp_path)
    try:
        server.start()
        with server.client() as client:
            assert client.config_get("appendonly") == {"appendonly": "no"}
            assert client.config_get("save") == {"save": ""}
        yield server
    finally:
        server.stop()


def test_messages_lost_with_the_broker_are_relayed_and_sent_once_each(
    tmp_path: Path,
    volatile_broker: VolatileBroker,
    make_web: MakeWeb,
    own_outbox: Outbox,
    mailhog_server: CatcherServer,
    mailhog: Mailbox,
    address: str,
) -> None:
    web = make_web(volatile_broker.url, own_outbox.url)
    user_id = new_user(web, address)
    ids = add_books(web, user_id, [f"Ficciones, tomo {n}" for n in range(1, EVENTS + 1)])
    assert volatile_broker.queue_length() == EVENTS
    assert {row["status"] for row in own_outbox.rows(ids).values()} == {"queued"}

    volatile_broker.kill_and_restart()
    assert volatile_broker.queue_length() == 0  # every message is gone

    # Within their lease the rows wait for a worker: nothing is published yet.
    early = relay_pass(web)
    assert (early.published, early.still_due) == (0, 0)

    assert own_outbox.force_due(ids) == EVENTS  # QUEUED_LEASE (60 s) has passed
    relayed = relay_pass(web)  # the same web app: its producer reconnects
    assert (relayed.published, relayed.still_due, relayed.broker_down) == (EVENTS, 0, False)
    assert volatile_broker.queue_length() == EVENTS
    rows = own_outbox.rows(ids)
    assert {(row["status"], row["publications"]) for row in rows.values()} == {("queued", 2)}

    worker = CeleryWorker(
        tmp_path,
        volatile_broker.url,
        mailhog_server.smtp_port,
        database_url=own_outbox.url,
        name="after-restart",
    )
    with worker:
        sent = own_outbox.wait_for(ids, "sent", timeout=60)
        assert {row["attempts"] for row in sent.values()} == {1}
        assert emails_per_event(mailhog, address) == {message_id(i): 1 for i in ids}
        assert volatile_broker.queue_length() == 0
