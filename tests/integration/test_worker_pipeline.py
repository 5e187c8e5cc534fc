"""Phase 1, no mocks: signature builder -> broker -> `celery worker` process -> MailHog."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery import Celery
from celery.result import AsyncResult

from bookshelf_tasks import BookEvent, signature_for
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient, MailHogServer
from devstack.process import wait_until
from devstack.worker import CeleryWorker

pytestmark = pytest.mark.integration


def event_for(address: str, kind: str = "added", **changes: object) -> BookEvent:
    fields: dict[str, object] = {
        "kind": kind,
        "user_email": address,
        "user_name": "Ana Núñez",
        "locale": "es",
        "book_id": 11,
        "title": "El nombre de la rosa",
        "author": "Umberto Eco",
        "isbn": "9788426403568",
        "year": 1980,
    }
    fields.update(changes)
    return BookEvent.create(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["added", "deleted"])
def test_an_enqueued_event_becomes_exactly_one_email(
    worker: CeleryWorker, producer: Celery, mailhog: MailHogClient, address: str, kind: str
) -> None:
    event = event_for(address, kind)
    result = signature_for(event, app=producer).apply_async()

    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert event.title in email.subject
    assert email.to == [address]
    assert email.message_id == f"<{event.event_id}@bookshelf>"
    assert "Umberto Eco" in email.part("text/plain")
    assert "Umberto Eco" in email.part("text/html")

    # The state the web's status page reads, through the producer's backend.
    assert result.id == event.event_id
    assert wait_until(lambda: AsyncResult(result.id, app=producer).state == "SUCCESS", 10)
    assert len(mailhog.messages_to(address)) == 1


def test_the_same_event_published_twice_is_one_email(
    worker: CeleryWorker, producer: Celery, mailhog: MailHogClient, address: str
) -> None:
    """Published twice (a relay re-send): the second copy finds the first one's
    sent-marker (test_duplicate_guard.py). One worker process with prefetch 1 and
    acks_late takes the second only after the first has returned."""
    event = event_for(address, title="Dune")
    signature_for(event, app=producer).apply_async()
    signature_for(event, app=producer).apply_async()
    skipped = f"outcome=duplicate-skipped event_id={event.event_id}"
    assert wait_until(lambda: skipped in worker.log_path.read_text(), 20)
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.message_id == f"<{event.event_id}@bookshelf>"
    assert len(mailhog.messages_to(address)) == 1


def test_worker_logs_one_structured_line_per_email(
    worker: CeleryWorker, producer: Celery, mailhog: MailHogClient, address: str
) -> None:
    event = event_for(address, title="Log me")
    signature_for(event, app=producer).apply_async()
    mailhog.wait_for(address, 1, timeout=20)

    def logged() -> bool:
        return f"outcome=sent event_id={event.event_id}" in worker.log_path.read_text()

    assert wait_until(logged, 10), worker.log_path.read_text()[-2000:]
    line = next(
        line
        for line in worker.log_path.read_text().splitlines()
        if event.event_id in line and "outcome=sent" in line
    )
    assert f"task_id={event.event_id}" in line and "attempt=1" in line


def test_ready_file_follows_the_worker_lifecycle(
    stack_dir: Path, broker: BrokerServer, mailhog_server: MailHogServer
) -> None:
    lifecycle = CeleryWorker(stack_dir, broker.url, mailhog_server.smtp_port, name="lifecycle")
    assert not lifecycle.ready_file.exists()
    with lifecycle:
        assert lifecycle.ready_file.exists()
        assert lifecycle.process.running
    assert not lifecycle.process.running
    assert not lifecycle.ready_file.exists()
