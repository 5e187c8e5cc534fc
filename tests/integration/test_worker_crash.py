"""The worker's "never lose an email" promises, with real processes and no mocks: a
pool child killed mid-send (an OOM kill), a warm shutdown with an email in flight,
and an SMTP server that is down and then comes back.

The SMTP server holds each message after its body arrived and before its reply, the
window in which a crash leaves the sender unsure whether the email went out."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery
from celery.result import AsyncResult

from bookshelf_tasks import BookEvent, signature_for
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.process import wait_until
from devstack.worker import STOP_TIMEOUT, CeleryWorker

pytestmark = pytest.mark.integration

Seen = tuple[str, str]  # (recipient, Message-ID)


class HoldingSMTP:
    """Records every message whose body arrived and, while `hold` is set, keeps its
    250 back until `release` is set. A client that disconnects meanwhile makes
    aiosmtpd cancel the handler: that copy is `abandoned`, never `accepted`."""

    def __init__(self, hold: bool = True) -> None:
        self.hold = hold
        self.release = threading.Event()
        self.received: list[Seen] = []
        self.abandoned: list[Seen] = []
        self.accepted: list[Seen] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        seen = (envelope.rcpt_tos[0], email.message_from_bytes(envelope.content)["Message-ID"])
        self.received.append(seen)
        try:
            while self.hold and not self.release.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.abandoned.append(seen)
            raise
        self.accepted.append(seen)
        return "250 OK"

    def count(self, kind: str, address: str) -> int:
        return [rcpt for rcpt, _ in getattr(self, kind)].count(address)


@contextmanager
def smtp_server(handler: HoldingSMTP, port: int) -> Iterator[None]:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        handler.release.set()  # a failed test must not leave a handler waiting
        controller.stop()


@pytest.fixture
def holding_smtp() -> Iterator[tuple[HoldingSMTP, int]]:
    handler, port = HoldingSMTP(), free_port()
    with smtp_server(handler, port):
        yield handler, port


@contextmanager
def running_worker(
    stack_dir: Path, broker: BrokerServer, port: int, name: str
) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(stack_dir, broker.url, port, name=f"{name}-{uuid.uuid4().hex[:6]}")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def main_pid(worker: CeleryWorker) -> int:
    assert worker.process.proc is not None
    return worker.process.proc.pid


def children_of(pid: int) -> set[int]:
    """Pool processes are the main process's children. This kernel has no
    /proc/<pid>/task/*/children, so read each process's parent from its stat."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # the process exited while we looked
    return found


def enqueue(producer: Celery, mailbox: str) -> tuple[str, BookEvent]:
    address = f"{mailbox}-{uuid.uuid4().hex[:8]}@example.com"
    event = BookEvent.create(
        kind="added", user_email=address, user_name="Ana", locale="es", book_id=7,
        title="Rayuela", author="Julio Cortázar",
    )  # fmt: skip
    signature_for(event, app=producer).apply_async()
    return address, event


def state(producer: Celery, event: BookEvent) -> str:
    return str(AsyncResult(event.event_id, app=producer).state)


def test_pool_child_killed_mid_send_is_requeued_at_once_and_delivered(
    stack_dir: Path, broker: BrokerServer, producer: Celery, holding_smtp: tuple[HoldingSMTP, int]
) -> None:
    handler, port = holding_smtp
    with running_worker(stack_dir, broker, port, "oom") as worker:
        main = main_pid(worker)
        [child] = children_of(main)  # --concurrency 1
        address, event = enqueue(producer, "oom")
        assert wait_until(lambda: handler.count("received", address) == 1, 15)

        os.kill(child, signal.SIGKILL)  # what the OOM killer does
        assert wait_until(lambda: handler.count("abandoned", address) == 1, 5)
        handler.release.set()

        # visibility_timeout is an hour: delivery within seconds proves that
        # task_reject_on_worker_lost requeued the message at once. (The main process
        # notices the dead child at once or at its next 5 s pool check.)
        delivered = wait_until(lambda: handler.count("accepted", address) == 1, 15)
        assert delivered, worker.log_path.read_text()[-3000:]
        assert wait_until(lambda: state(producer, event) == "SUCCESS", 10)

        # The body reached the server twice, always with the same Message-ID; only
        # the redelivery was answered 250. A server that commits before replying
        # would have kept the first copy too: at most two, recognisably the same.
        assert handler.count("received", address) == 2
        assert {mid for rcpt, mid in handler.received if rcpt == address} == {
            f"<{event.event_id}@bookshelf>"
        }
        assert handler.count("accepted", address) == 1
        # A requeue is not a retry: the redelivery logs attempt=1 again.
        sent = f"outcome=sent event_id={event.event_id} task_id={event.event_id} attempt=1"
        assert worker.log_path.read_text().count(sent) == 1

        assert worker.process.running
        replacements = children_of(main)
        assert replacements and child not in replacements


def test_warm_shutdown_finishes_the_email_in_flight(
    stack_dir: Path, broker: BrokerServer, producer: Celery, holding_smtp: tuple[HoldingSMTP, int]
) -> None:
    handler, port = holding_smtp
    with running_worker(stack_dir, broker, port, "sigterm") as worker:
        address, event = enqueue(producer, "sigterm")
        assert wait_until(lambda: handler.count("received", address) == 1, 15)

        # SIGTERM to the main process only, as `docker stop` does to PID 1.
        os.kill(main_pid(worker), signal.SIGTERM)
        # "Warm shutdown (MainProcess)"; matched loosely so that a cold shutdown
        # (REMAP_SIGTERM=SIGQUIT) fails below, on the email, not here.
        assert wait_until(lambda: "shutdown (MainProcess)" in worker.log_path.read_text(), 10)
        assert worker.process.running  # waiting for the email it is sending
        handler.release.set()

        assert worker.process.proc is not None
        assert worker.process.proc.wait(STOP_TIMEOUT) == 0
        assert handler.count("accepted", address) == 1
        assert handler.count("received", address) == 1
        assert state(producer, event) == "SUCCESS"
        # Acknowledged before exit: nothing is left for the next worker to resend.
        client = redis.Redis.from_url(broker.url)
        assert client.llen("email") == 0 and client.hlen("unacked") == 0


def test_smtp_down_then_back_is_retried_until_delivered(
    stack_dir: Path, broker: BrokerServer, producer: Celery
) -> None:
    handler, port = HoldingSMTP(hold=False), free_port()  # nobody listens there yet
    with running_worker(stack_dir, broker, port, "smtp-down") as worker:
        address, event = enqueue(producer, "smtp-down")
        log = worker.log_path
        first = f"outcome=retrying event_id={event.event_id} task_id={event.event_id} attempt=1 "
        assert wait_until(lambda: first in log.read_text(), 15), log.read_text()[-3000:]
        retrying = next(line for line in log.read_text().splitlines() if first in line)
        assert "failure=transient" in retrying and "ConnectionRefusedError" in retrying

        # The first countdown is 1-2 s (EMAIL_RETRY_BACKOFF_BASE 2 s, jitter 0.5-1).
        with smtp_server(handler, port):
            assert wait_until(lambda: handler.count("accepted", address) == 1, 15)
            assert wait_until(lambda: state(producer, event) == "SUCCESS", 10)
        sent = f"outcome=sent event_id={event.event_id} task_id={event.event_id} attempt=2"
        assert wait_until(lambda: sent in log.read_text(), 5), log.read_text()[-3000:]
        assert handler.count("received", address) == 1
