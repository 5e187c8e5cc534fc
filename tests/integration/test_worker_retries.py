"""The retry policy in a real `celery worker` process, against a scripted SMTP server:
a 451 is recorded 'retrying', comes back after its countdown (the task's retry message,
an ETA the worker holds) and is then sent; a 550 is 'failed' at once. Every state is
read from the outbox row in Postgres, as the status page reads it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.worker import CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    new_user,
    outcome_lines,
    unique_address,
    wait_for_lines,
)

pytestmark = pytest.mark.integration


@dataclass
class ByRecipient:
    """Answers DATA with the reply scripted for the recipient's mailbox name:
    'defer-once' gets one 451, 'refuse' always 550, anything else 250."""

    seen: dict[str, int] = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)

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
    stack_dir: Path, broker: BrokerServer, smtp: tuple[ByRecipient, int], database_url: str
) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(
        stack_dir, broker.url, smtp[1], database_url=database_url, name="scripted-smtp-worker"
    )
    try:
        yield worker.start()
    finally:
        worker.stop()


def send(web: Flask, mailbox: str) -> tuple[str, str]:
    """A new user's book added and published; its address and event id."""
    address = unique_address(mailbox)
    [event_id] = add_books(web, new_user(web, address, locale="en"), ["Invisible Cities"])
    return address, event_id


def test_a_451_is_retried_after_its_countdown_then_sent(
    make_web: MakeWeb,
    broker: BrokerServer,
    scripted_worker: CeleryWorker,
    outbox: Outbox,
    smtp: tuple[ByRecipient, int],
) -> None:
    handler = smtp[0]
    address, event_id = send(make_web(broker.url), "defer-once")

    # The countdown is 1-2 s (EMAIL_RETRY_BACKOFF_BASE, jitter): polled every 10 ms,
    # the row is seen waiting in 'retrying' on its way to 'sent'.
    seen = outbox.statuses_until(event_id, ["sent", "failed"], timeout=20)
    assert seen[-1] == "sent", seen
    assert "retrying" in seen, seen  # what the status page shows while it waits
    [retrying] = wait_for_lines(scripted_worker, "retrying", event_id)
    assert "attempt=1 " in retrying and "smtp_code=451" in retrying
    [sent] = wait_for_lines(scripted_worker, "sent", event_id)
    assert "attempt=2 " in sent

    row = outbox.row(event_id)
    assert (row["attempts"], row["last_error"], row["due_at"]) == (2, None, None)
    assert row["delivered_at"] is not None
    assert handler.seen[address] == 2 and handler.delivered.count(address) == 1


def test_a_550_fails_once_without_retry(
    make_web: MakeWeb,
    broker: BrokerServer,
    scripted_worker: CeleryWorker,
    outbox: Outbox,
    smtp: tuple[ByRecipient, int],
) -> None:
    handler = smtp[0]
    address, event_id = send(make_web(broker.url), "refuse")

    seen = outbox.statuses_until(event_id, ["sent", "failed"], timeout=20)
    assert seen[-1] == "failed" and "retrying" not in seen, seen
    row = outbox.row(event_id)
    assert row["last_error"] == "550 5.7.1 refused by policy"
    assert (row["attempts"], row["due_at"], row["delivered_at"]) == (1, None, None)

    [failed] = wait_for_lines(scripted_worker, "failed", event_id)
    assert "attempt=1 " in failed and "failure=permanent smtp_code=550" in failed
    assert outcome_lines(scripted_worker, "retrying", event_id) == []
    assert handler.seen[address] == 1 and address not in handler.delivered
