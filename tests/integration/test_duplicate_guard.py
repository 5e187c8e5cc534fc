"""No mocks: the same event published again after it was delivered sends no second
email. A real broker, a `celery worker` process, MailHog.

This is what the web's outbox relay does to a 'queued' event that has no task state
after --stale-after (bookshelf.stale_queued): the message may have been lost with the
broker's data, or only have waited long; the worker's sent-marker tells the second
copy apart (bookshelf_worker.sent_markers).
"""

from __future__ import annotations

import pytest
import redis
from celery import Celery
from celery.result import AsyncResult

from bookshelf_tasks import BookEvent, signature_for
from bookshelf_worker.sent_markers import marker_key
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient
from devstack.process import wait_until
from devstack.worker import CeleryWorker

pytestmark = pytest.mark.integration

REQUEST_ID = "dup-guard-0123456789"


def event_for(address: str) -> BookEvent:
    return BookEvent.create(
        kind="added", user_email=address, user_name="Ana", locale="es", book_id=3,
        title="Pedro Páramo", author="Juan Rulfo",
    )  # fmt: skip


def logged(worker: CeleryWorker, text: str) -> bool:
    return text in worker.log_path.read_text()


def test_a_delivered_event_published_again_is_skipped_not_sent_twice(
    worker: CeleryWorker,
    producer: Celery,
    broker: BrokerServer,
    mailhog: MailHogClient,
    address: str,
) -> None:
    event = event_for(address)
    signature_for(event, app=producer, request_id=REQUEST_ID).apply_async()
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.message_id == f"<{event.event_id}@bookshelf>"
    assert wait_until(lambda: AsyncResult(event.event_id, app=producer).state == "SUCCESS", 10)
    client = redis.Redis.from_url(broker.url)
    assert client.exists(marker_key(event.event_id))

    # As the web's dispatch does it: drop the old state, publish the same event again.
    producer.backend.delete(producer.backend.get_key_for_task(event.event_id))
    signature_for(event, app=producer, request_id=REQUEST_ID).apply_async()

    skipped = f"outcome=duplicate-skipped event_id={event.event_id} task_id={event.event_id}"
    assert wait_until(lambda: logged(worker, skipped), 20), worker.log_path.read_text()[-2000:]
    assert f"{skipped} attempt=1 request_id={REQUEST_ID}" in worker.log_path.read_text()
    assert wait_until(lambda: AsyncResult(event.event_id, app=producer).state == "SUCCESS", 10)
    # The decision is logged before the task returns: no second email is on its way.
    assert len(mailhog.messages_to(address)) == 1
    sent = f"outcome=sent event_id={event.event_id}"
    assert worker.log_path.read_text().count(sent) == 1
    client.close()
