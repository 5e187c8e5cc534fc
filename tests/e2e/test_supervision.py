"""The local stack's supervisor, as Compose's `restart: unless-stopped`: a service that
crashes comes back on its own (the broker with its data), emails keep arriving, and a
service stopped on purpose stays down until it is started again.

Every wait polls with a deadline; none sleeps a fixed time.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import pytest
import redis

from devstack.bookshelf_client import BookshelfUser
from devstack.mailbox import Mailbox
from devstack.process import tail, wait_until
from devstack.stack import LocalStack
from tests.e2e.support import StackUrls

# It kills and stops parts of the shared stack: conftest runs it after the others.
RUNS_LAST = True

# A poll (0.5 s) plus the service's start-up: the worker's can take seconds on a busy
# machine. The email then waits for the worker's first poll of the queue.
RESTART_DEADLINE_S = 60.0
DELIVERY_DEADLINE_S = 30.0
# How long the broker may take to write a SET into its append-only file (it writes
# before it replies; appendfsync everysec fsyncs within a second).
AOF_DEADLINE_S = 2.0


@pytest.fixture
def local(stack: StackUrls) -> LocalStack:
    if stack.local is None:
        pytest.skip(f"kills processes of the local stack: local stack only, not {stack.mode}")
    return stack.local


def logs_of(local: LocalStack, name: str) -> str:
    paths = {"devstack": local.supervisor.log_path, **local.service(name).logs}
    return "\n".join(f"--- {label}: {path}\n{tail(path, 20)}" for label, path in paths.items())


def wait_restarted(local: LocalStack, name: str, restarts_before: int) -> None:
    """The supervisor counts a restart once the new process passed its readiness probe."""
    if not wait_until(lambda: local.restarts[name] > restarts_before, RESTART_DEADLINE_S):
        raise AssertionError(
            f"{name} was not restarted within {RESTART_DEADLINE_S:.0f}s\n{logs_of(local, name)}"
        )


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def add_and_await_email(local: LocalStack, user: BookshelfUser, mailhog: Mailbox) -> None:
    title = f"Pedro Páramo {uuid.uuid4().hex[:6]}"
    already = len(mailhog.messages_to(user.account.email))
    user.add_book(title=title, author="Juan Rulfo", year="1955")
    try:
        emails = mailhog.wait_for(user.account.email, already + 1, timeout=DELIVERY_DEADLINE_S)
    except AssertionError as missing:
        raise AssertionError(f"{missing}\n{logs_of(local, 'worker')}") from None
    assert any(title in email.subject for email in emails)


def test_a_worker_killed_with_sigkill_is_restarted_and_emails_still_arrive(
    local: LocalStack, user: BookshelfUser, mailhog: Mailbox
) -> None:
    before = local.restarts["worker"]

    killed = local.kill_service("worker", signal.SIGKILL)
    wait_restarted(local, "worker", before)

    assert local.restarts["worker"] == before + 1
    process = local.service("worker").process
    assert process is not None and process.proc is not None and process.proc.pid != killed
    # The restart also SIGKILLed what the dead main process left, its pool processes
    # (which may take a moment to be reaped).
    assert wait_until(lambda: group_is_gone(killed), 10)
    wanted = f"devstack: worker exited with code {-signal.SIGKILL}; restarted"
    assert wanted in local.supervisor.log_path.read_text()
    add_and_await_email(local, user, mailhog)


def test_a_service_stopped_on_purpose_stays_down_until_it_is_started(
    local: LocalStack, user: BookshelfUser, mailhog: Mailbox
) -> None:
    before = local.restarts["worker"]
    local.stop_service("worker")
    try:
        title = f"Ficciones {uuid.uuid4().hex[:6]}"
        user.add_book(title=title, author="Jorge Luis Borges")  # queued on the broker
        passes = local.supervisor.passes
        # Several supervisor polls go by (not a fixed sleep): none restarts it.
        assert wait_until(lambda: local.supervisor.passes >= passes + 4, 30)

        assert not local.service("worker").running
        assert local.restarts["worker"] == before
        assert mailhog.messages_to(user.account.email) == []
    finally:
        local.start_service("worker")

    assert local.service("worker").running
    (email,) = mailhog.wait_for(user.account.email, 1, timeout=DELIVERY_DEADLINE_S)
    assert title in email.subject
    assert local.restarts["worker"] == before  # started on purpose, not a restart


def aof_holds(workdir: Path, key: str) -> bool:
    """`key` is in the broker's append-only file (Redis 7: appendonlydir/*.aof; KeyDB 6:
    appendonly.aof in its dir)."""
    return any(key.encode() in path.read_bytes() for path in workdir.rglob("appendonly.aof*"))


def test_a_killed_broker_comes_back_with_its_data_and_the_stack_recovers(
    local: LocalStack, user: BookshelfUser, mailhog: Mailbox
) -> None:
    key = f"e2e-aof-{uuid.uuid4().hex}"
    with redis.Redis.from_url(local.broker.url) as client:
        client.set(key, "kept")
    assert wait_until(lambda: aof_holds(local.broker.workdir, key), AOF_DEADLINE_S)
    before = local.restarts["broker"]

    local.kill_service("broker", signal.SIGKILL)
    wait_restarted(local, "broker", before)

    with redis.Redis.from_url(local.broker.url) as client:
        assert client.get(key) == b"kept"
        client.delete(key)
    # Web and worker reconnect (or, should kombu's restore crash the worker, the
    # supervisor restarts it): an email added now arrives.
    add_and_await_email(local, user, mailhog)
