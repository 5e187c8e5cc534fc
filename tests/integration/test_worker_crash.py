"""The worker's crash promises, with real processes and no mocks: a prefork pool
process, or a thread-pool worker (the default) as a whole, killed before DATA (its
email is sent later, once) or after DATA began (its email is 'uncertain' and never
resent by itself), a warm shutdown that finishes the email in flight, and an SMTP
server that is down and then comes back.

The SMTP server (aiosmtpd) can hold a session at RCPT or at the DATA command (before
its 354), both before the point of no return, or at DATA after the body arrived and
before the reply: the window in which a crash leaves the sender unsure whether the
email went out. Each test has a database, a broker
and a worker of its own, so a relay pass handles its rows only and the broker's queue
holds only its messages."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from flask import Flask

from bookshelf_tasks.names import EMAIL_QUEUE
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.process import wait_until
from devstack.worker import STOP_TIMEOUT, CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    message_id,
    new_user,
    relay_pass,
    unique_address,
    wait_for_lines,
)

pytestmark = pytest.mark.integration

Phase = Literal["RCPT", "DATA_COMMAND", "DATA"]


@dataclass
class HoldingSMTP:
    """Holds every session at `hold_at` until `release` is set, recording who got how
    far by Message-ID: `received` (the body arrived), `accepted` (answered 250). A
    client that disconnects while held makes aiosmtpd cancel the handler: that
    session is `abandoned`, never accepted."""

    hold_at: Phase | None = None
    release: threading.Event = field(default_factory=threading.Event)
    at_rcpt: list[str] = field(default_factory=list)  # recipients
    received: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)  # a recipient or a Message-ID
    held: list[tuple[Phase, str]] = field(default_factory=list)  # where, and who

    async def hold(self, phase: Phase, who: str) -> None:
        if self.hold_at == phase:
            self.held.append((phase, who))
        try:
            while self.hold_at == phase and not self.release.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.abandoned.append(who)
            raise

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.at_rcpt.append(address)
        await self.hold("RCPT", address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mid = str(email.message_from_bytes(envelope.content)["Message-ID"])
        self.received.append(mid)
        await self.hold("DATA", mid)
        self.accepted.append(mid)
        return "250 OK"


class _HoldingSession(SMTP):
    """aiosmtpd's server with a hold before its 354 to DATA, where it has no hook."""

    async def smtp_DATA(self, arg: str) -> None:
        handler: HoldingSMTP = self.event_handler
        if self.envelope is not None and self.envelope.rcpt_tos:
            await handler.hold("DATA_COMMAND", self.envelope.rcpt_tos[0])
        await super().smtp_DATA(arg)


class _HoldingController(Controller):
    def factory(self) -> SMTP:
        return _HoldingSession(self.handler, **self.SMTP_kwargs)


@contextmanager
def smtp_server(handler: HoldingSMTP, port: int) -> Iterator[None]:
    controller = _HoldingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        handler.release.set()  # a failed test must not leave a handler waiting
        controller.stop()


@dataclass
class Stack:
    """This test's broker, web app (on its own database) and worker."""

    broker: BrokerServer
    web: Flask
    outbox: Outbox
    worker: CeleryWorker

    def queued_messages(self) -> tuple[int, int]:
        """(waiting on the `email` list, delivered but unacknowledged)."""
        client = redis.Redis.from_url(self.broker.url)
        try:
            return int(client.llen(EMAIL_QUEUE)), int(client.hlen("unacked"))
        finally:
            client.close()


@contextmanager
def stack(
    stack_dir: Path,
    make_web: MakeWeb,
    own_outbox: Outbox,
    smtp_port: int,
    name: str,
    pool: str | None = None,
) -> Iterator[Stack]:
    """`pool`: the worker's (the image's default, threads, when None)."""
    workdir = stack_dir / f"{name}-{uuid.uuid4().hex[:6]}"
    broker = BrokerServer(workdir / "broker")
    worker = CeleryWorker(
        workdir, broker.url, smtp_port, database_url=own_outbox.url, name=name, pool=pool,
        concurrency=1 if pool == "prefork" else None,
    )  # fmt: skip
    try:
        broker.start()
        worker.start()
        yield Stack(broker, make_web(broker.url, own_outbox.url), own_outbox, worker)
    finally:
        worker.stop()
        broker.stop()


def add_book(stack: Stack, mailbox: str) -> tuple[str, str]:
    """A new user's book, its row written and published by the web app."""
    address = unique_address(mailbox)
    [event_id] = add_books(stack.web, new_user(stack.web, address), ["Rayuela"])
    return address, event_id


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


def kill_pool_process(worker: CeleryWorker) -> int:
    """SIGKILL the only pool process (prefork, --concurrency 1), as the OOM killer does."""
    [child] = children_of(main_pid(worker))
    os.kill(child, signal.SIGKILL)
    return child


def test_pool_process_killed_before_data_is_sent_later_exactly_once(
    stack_dir: Path, make_web: MakeWeb, own_outbox: Outbox
) -> None:
    handler, port = HoldingSMTP(hold_at="RCPT"), free_port()
    with (
        smtp_server(handler, port),
        stack(stack_dir, make_web, own_outbox, port, "oom", pool="prefork") as s,
    ):
        address, event_id = add_book(s, "oom")
        assert wait_until(lambda: handler.at_rcpt.count(address) == 1, 15)
        held = s.outbox.row(event_id)
        assert (held["status"], held["attempts"], held["data_sent_at"]) == ("sending", 1, None)

        child = kill_pool_process(s.worker)
        assert wait_until(lambda: handler.abandoned.count(address) == 1, 5)
        # task_reject_on_worker_lost requeued the message at once (visibility_timeout
        # is an hour); its redelivery finds the row claimed by the dead attempt's lease
        # and is dropped. Nothing was sent: the row is still due to be sent.
        wait_for_lines(s.worker, "duplicate-skipped", event_id, timeout=15)
        assert s.outbox.row(event_id)["status"] == "sending"
        handler.hold_at = None

        # The lease runs out (SEND_LEASE: 60 s, forced here): the relay publishes the
        # event again, the next attempt claims it and sends it.
        assert s.outbox.force_due([event_id]) == 1
        relayed = relay_pass(s.web)
        assert (relayed.published, relayed.uncertain, relayed.still_due) == (1, 0, 0)
        row = s.outbox.wait_for([event_id], "sent", timeout=20)[event_id]
        # One more publication: the relay's (it holds the row while it publishes).
        assert (row["attempts"], row["publications"]) == (2, held["publications"] + 1)
        [sent] = wait_for_lines(s.worker, "sent", event_id)
        assert "attempt=2 " in sent

        mid = message_id(event_id)
        assert (handler.received.count(mid), handler.accepted.count(mid)) == (1, 1)
        assert handler.at_rcpt.count(address) == 2
        assert len(wait_for_lines(s.worker, "duplicate-skipped", event_id)) == 1
        # The main process survived and replaced its pool process.
        assert s.worker.process.running
        assert child not in children_of(main_pid(s.worker))


def test_pool_process_killed_after_data_began_is_uncertain_and_not_resent(
    stack_dir: Path, make_web: MakeWeb, own_outbox: Outbox
) -> None:
    handler, port = HoldingSMTP(hold_at="DATA"), free_port()
    with (
        smtp_server(handler, port),
        stack(stack_dir, make_web, own_outbox, port, "oom-data", pool="prefork") as s,
    ):
        _, event_id = add_book(s, "oom-data")
        mid = message_id(event_id)
        assert wait_until(lambda: handler.received.count(mid) == 1, 15)
        kill_pool_process(s.worker)
        assert wait_until(lambda: handler.abandoned.count(mid) == 1, 5)

        # Past the point of no return: the row says so, and the redelivered message
        # finds it claimed and is dropped.
        held = s.outbox.row(event_id)
        assert (held["status"], held["attempts"]) == ("sending", 1)
        assert held["data_sent_at"] is not None
        wait_for_lines(s.worker, "duplicate-skipped", event_id, timeout=15)
        s.worker.stop()  # nobody left to consume what a relay pass might publish
        assert s.queued_messages() == (0, 0)

        assert s.outbox.force_due([event_id]) == 1  # the dead attempt's lease is over
        relayed = relay_pass(s.web)
        assert (relayed.published, relayed.uncertain, relayed.still_due) == (0, 1, 0)
        assert s.queued_messages() == (0, 0)  # published nothing
        row = s.outbox.row(event_id)
        assert (row["status"], row["attempts"], row["due_at"]) == ("uncertain", 1, None)
        assert (
            row["last_error"] == "the worker stopped after handing the message to the mail server"
        )
        # Settled: a later pass has nothing to do with it.
        assert relay_pass(s.web).uncertain == 0
        # The server got the body once and never answered it: at most one copy.
        assert (handler.received.count(mid), handler.accepted.count(mid)) == (1, 0)


def test_warm_shutdown_finishes_the_email_in_flight(
    stack_dir: Path, make_web: MakeWeb, own_outbox: Outbox
) -> None:
    handler, port = HoldingSMTP(hold_at="DATA"), free_port()
    with smtp_server(handler, port), stack(stack_dir, make_web, own_outbox, port, "sigterm") as s:
        _, event_id = add_book(s, "sigterm")
        mid = message_id(event_id)
        assert wait_until(lambda: handler.received.count(mid) == 1, 15)

        # SIGTERM to the main process only, as `docker stop` does to PID 1.
        os.kill(main_pid(s.worker), signal.SIGTERM)
        # "Warm shutdown (MainProcess)"; matched loosely so that a cold shutdown
        # (REMAP_SIGTERM=SIGQUIT) fails below, on the email, not here.
        log = s.worker.log_path
        assert wait_until(lambda: "shutdown (MainProcess)" in log.read_text(), 10)
        assert s.worker.process.running  # waiting for the email it is sending
        handler.release.set()

        assert s.worker.process.proc is not None
        assert s.worker.process.proc.wait(STOP_TIMEOUT) == 0
        assert (handler.received.count(mid), handler.accepted.count(mid)) == (1, 1)
        row = s.outbox.row(event_id)
        assert (row["status"], row["attempts"]) == ("sent", 1)
        # Recorded and acknowledged before exit: nothing is left to send again.
        assert s.queued_messages() == (0, 0)
        assert relay_pass(s.web).handled == 0


def test_smtp_down_then_back_is_retried_until_sent(
    stack_dir: Path, make_web: MakeWeb, own_outbox: Outbox
) -> None:
    handler, port = HoldingSMTP(), free_port()  # nobody listens there yet
    with stack(stack_dir, make_web, own_outbox, port, "smtp-down") as s:
        _, event_id = add_book(s, "smtp-down")
        [retrying] = wait_for_lines(s.worker, "retrying", event_id, timeout=15)
        assert "attempt=1 " in retrying and "failure=transient" in retrying
        assert "ConnectionRefusedError" in retrying
        row = s.outbox.row(event_id)
        assert (row["status"], row["attempts"]) == ("retrying", 1)
        assert "ConnectionRefusedError" in (row["last_error"] or "")

        # The first countdown is 1-2 s (EMAIL_RETRY_BACKOFF_BASE 2 s, jitter 0.5-1).
        with smtp_server(handler, port):
            row = s.outbox.wait_for([event_id], "sent", timeout=20)[event_id]
        assert (row["attempts"], row["last_error"]) == (2, None)
        [sent] = wait_for_lines(s.worker, "sent", event_id)
        assert "attempt=2 " in sent
        mid = message_id(event_id)
        assert (handler.received.count(mid), handler.accepted.count(mid)) == (1, 1)


# --- The thread pool (the image's default): no pool process to lose alone. A killed
# worker loses every send in flight; the relay settles each row when its lease ends.


def kill_worker(worker: CeleryWorker) -> None:
    """SIGKILL the worker process, its threads with it (OOM, a node lost)."""
    proc = worker.process.proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.parametrize("phase", ["RCPT", "DATA_COMMAND"])
def test_thread_pool_worker_killed_before_the_message_went_out_sends_it_later_once(
    stack_dir: Path, make_web: MakeWeb, own_outbox: Outbox, phase: Phase
) -> None:
    """At RCPT, or while the server has not answered DATA yet: the point of no return
    is passed only after the 354, so either way the row is resendable."""
    handler, port = HoldingSMTP(hold_at=phase), free_port()
    with smtp_server(handler, port), stack(stack_dir, make_web, own_outbox, port, "kill") as s:
        assert s.worker.pool == "threads"
        address, event_id = add_book(s, "kill")
        assert wait_until(lambda: (phase, address) in handler.held, 15)
        kill_worker(s.worker)
        assert wait_until(lambda: handler.abandoned.count(address) == 1, 5)
        held = s.outbox.row(event_id)
        assert (held["status"], held["attempts"], held["data_sent_at"]) == ("sending", 1, None)
        # Nobody requeues the message (it stays unacknowledged on the broker for the
        # visibility timeout): the row's lease is what brings the email back.
        handler.hold_at = None
        s.worker.start()  # the supervisor's restart
        assert s.outbox.force_due([event_id]) == 1
        relayed = relay_pass(s.web)
        assert (relayed.published, relayed.uncertain, relayed.still_due) == (1, 0, 0)
        row = s.outbox.wait_for([event_id], "sent", timeout=20)[event_id]
        assert row["attempts"] == 2
        mid = message_id(event_id)
        assert (handler.received.count(mid), handler.accepted.count(mid)) == (1, 1)


def test_thread_pool_worker_killed_after_data_began_is_uncertain_and_not_resent(
    stack_dir: Path, make_web: MakeWeb, own_outbox: Outbox
) -> None:
    handler, port = HoldingSMTP(hold_at="DATA"), free_port()
    with smtp_server(handler, port), stack(stack_dir, make_web, own_outbox, port, "kill-d") as s:
        _, event_id = add_book(s, "kill-data")
        mid = message_id(event_id)
        assert wait_until(lambda: handler.received.count(mid) == 1, 15)
        kill_worker(s.worker)
        assert wait_until(lambda: handler.abandoned.count(mid) == 1, 5)
        held = s.outbox.row(event_id)
        assert (held["status"], held["attempts"]) == ("sending", 1)
        assert held["data_sent_at"] is not None

        assert s.outbox.force_due([event_id]) == 1
        relayed = relay_pass(s.web)
        assert (relayed.published, relayed.uncertain, relayed.still_due) == (0, 1, 0)
        row = s.outbox.row(event_id)
        assert (row["status"], row["attempts"], row["due_at"]) == ("uncertain", 1, None)
        assert (handler.received.count(mid), handler.accepted.count(mid)) == (1, 0)
