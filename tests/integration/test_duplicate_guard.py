"""No mocks: the worker's claim on the Postgres row is the whole duplicate guard
(bookshelf_tasks.delivery.claim). However many copies of an event's message reach a
`celery worker` process (a relay that published again, a redelivery), the first claims
the row and sends; every other finds it claimed or sent, is acknowledged and dropped
(`outcome=duplicate-skipped`). A real broker, a real worker, MailHog."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from celery import Celery
from flask import Flask

from bookshelf_tasks import BookEvent, signature_for
from devstack.broker import BrokerServer
from devstack.mailbox import Mailbox
from devstack.worker import CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    emails_per_event,
    message_id,
    new_book_event,
    new_user,
    outcome_lines,
    publish_again,
    unique_address,
    wait_for_lines,
)

pytestmark = pytest.mark.integration

COPIES = 3
# Publishes `copies` messages of one row's event.
Publisher = Callable[[Flask, Celery, Outbox, str, int], None]


def through_dispatch(
    web: Flask, producer: Celery, outbox: Outbox, event_id: str, copies: int
) -> None:
    """`dispatch.publish` on the row as it is at that moment, as the relay does."""
    for _ in range(copies):
        assert publish_again(web, event_id)


def through_one_signature(
    web: Flask, producer: Celery, outbox: Outbox, event_id: str, copies: int
) -> None:
    """One signature built from the row (task id = event id), applied `copies` times
    by a producer with the web's settings."""
    event = BookEvent.from_dict(outbox.row(event_id)["payload"])
    signature = signature_for(event, app=producer)
    for _ in range(copies):
        signature.apply_async()


@pytest.mark.parametrize("publish", [through_dispatch, through_one_signature])
def test_the_same_event_published_three_times_is_one_email(
    make_web: MakeWeb,
    broker: BrokerServer,
    producer: Celery,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: Mailbox,
    address: str,
    publish: Publisher,
) -> None:
    web = make_web(broker.url)
    # The row, written and left 'pending' as a request whose publication failed leaves it.
    [event_id] = add_books(web, new_user(web, address), ["Pedro Páramo"], published=False)
    publish(web, producer, outbox, event_id, COPIES)

    # Each copy is logged once, the first as sent and every later one as skipped.
    wait_for_lines(worker, "duplicate-skipped", event_id, count=COPIES - 1)
    [sent] = wait_for_lines(worker, "sent", event_id)
    assert f"task_id={event_id} attempt=1 " in sent
    row = outbox.wait_for([event_id], "sent", timeout=10)[event_id]
    assert row["attempts"] == 1  # one claim; the skipped copies changed nothing
    assert row["delivered_at"] is not None
    # The skip is decided (and logged) before anything is sent: all emails are in.
    assert emails_per_event(mailhog, address) == {message_id(event_id): 1}
    assert len(outcome_lines(worker, "duplicate-skipped", event_id)) == COPIES - 1


def test_a_message_without_its_row_sends_nothing(
    producer: Celery, worker: CeleryWorker, outbox: Outbox, mailhog: Mailbox
) -> None:
    """A message whose event has no claimable row (deleted with its user, or written
    to another database) is dropped: the broker never decides that an email goes out."""
    address = unique_address()
    event = new_book_event(
        kind="added", user_email=address, user_name="Ana", locale="es", book_id=3,
        title="Pedro Páramo", author="Juan Rulfo",
    )  # fmt: skip
    signature_for(event, app=producer).apply_async()

    [line] = wait_for_lines(worker, "duplicate-skipped", event.event_id)
    assert "attempt=1 request_id=-" in line
    assert outbox.rows([event.event_id]) == {}
    assert not outcome_lines(worker, "sent", event.event_id)
    # The skip is logged after the task decided not to send: nothing is on its way.
    assert mailhog.messages_to(address) == []
