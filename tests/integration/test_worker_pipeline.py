"""No mocks: an outbox row written by the web app (`record`, then `dispatch.publish`)
-> broker -> `celery worker` process (claims the row in Postgres) -> MailHog."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from devstack.broker import BrokerServer
from devstack.flavours import CatcherServer
from devstack.mailbox import Mailbox
from devstack.worker import CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    delete_book,
    emails_per_event,
    message_id,
    new_user,
    wait_for_lines,
)

pytestmark = pytest.mark.integration

TITLE = "El nombre de la rosa"


@pytest.fixture
def web(make_web: MakeWeb, broker: BrokerServer) -> Flask:
    return make_web(broker.url)


@pytest.mark.parametrize("kind", ["added", "deleted"])
def test_a_published_event_becomes_exactly_one_email(
    web: Flask,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: Mailbox,
    address: str,
    kind: str,
) -> None:
    user_id = new_user(web, address)
    # For "deleted", the book's own 'added' row stays pending (never published).
    [event_id] = add_books(web, user_id, [TITLE], published=kind == "added")
    if kind == "deleted":
        event_id = delete_book(web, user_id, event_id)

    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert TITLE in email.subject
    assert email.subject.startswith("Libro añadido" if kind == "added" else "Libro eliminado")
    assert email.to == [address]
    assert email.message_id == message_id(event_id)
    assert "Italo Calvino" in email.part("text/plain")
    assert "Italo Calvino" in email.part("text/html")
    assert "Lucía Pérez" in email.part("text/plain")

    # The worker records 'sent' after the 250; the row, not Celery, is the state.
    row = outbox.wait_for([event_id], "sent", timeout=10)[event_id]
    assert (row["kind"], row["attempts"]) == (kind, 1)
    assert row["delivered_at"] is not None and row["data_sent_at"] is not None
    assert (row["due_at"], row["last_error"]) == (None, None)
    assert emails_per_event(mailhog, address) == {message_id(event_id): 1}


def test_worker_logs_one_structured_line_per_email(
    web: Flask, worker: CeleryWorker, outbox: Outbox, mailhog: Mailbox, address: str
) -> None:
    [event_id] = add_books(web, new_user(web, address), ["Log me"])
    mailhog.wait_for(address, 1, timeout=20)

    [line] = wait_for_lines(worker, "sent", event_id, timeout=10)
    # Published outside a request: no request id header, logged as "-".
    assert line.endswith(
        f"outcome=sent event_id={event_id} task_id={event_id} attempt=1 request_id=-"
    ), line
    outbox.wait_for([event_id], "sent", timeout=10)
    assert len(wait_for_lines(worker, "sent", event_id)) == 1


def test_ready_file_follows_the_worker_lifecycle(
    stack_dir: Path, broker: BrokerServer, mailhog_server: CatcherServer, database_url: str
) -> None:
    lifecycle = CeleryWorker(
        stack_dir, broker.url, mailhog_server.smtp_port, database_url=database_url, name="lifecycle"
    )
    assert not lifecycle.ready_file.exists()
    with lifecycle:
        assert lifecycle.ready_file.exists()
        assert lifecycle.process.running
    assert not lifecycle.process.running
    assert not lifecycle.ready_file.exists()
