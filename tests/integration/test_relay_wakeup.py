"""No mocks: the outbox relay process is woken by Postgres at the commit of a new row,
not by its sweep. It runs here with a 60 s interval and every add comes after its first
pass, so that only the INSERT trigger's NOTIFY (migration e7a3c5b9d1f4) can explain a
publication within seconds. A transaction that rolls back notifies nothing, and its
row, which never existed for anyone else, is never published."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event as orm_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session, UOWTransaction

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.models import Book
from bookshelf.outbox import record
from bookshelf.outbox.models import EmailEvent
from devstack.broker import BrokerServer
from devstack.mailbox import Mailbox
from devstack.process import wait_until
from devstack.worker import CeleryWorker
from tests.integration.outbox_relay import DueNotifications, OutboxRelay
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    book_input,
    emails_per_event,
    logged_in_client,
    message_id,
    new_user,
    outcome_lines,
)

pytestmark = pytest.mark.integration

RELAY_INTERVAL_S = 60.0
# How long after an add's commit its row may take to be published: a bounded wait,
# far below the sweep's interval, not a measure of speed.
WAKE_DEADLINE_S = 10.0


@pytest.fixture(scope="module")
def relay_interval() -> float:
    return RELAY_INTERVAL_S


@pytest.fixture
def notifications(outbox: Outbox) -> Iterator[DueNotifications]:
    listener = DueNotifications(outbox.url)
    yield listener
    listener.close()


class CommitFailed(RuntimeError):
    """Raised once the outbox row's INSERT has run, so that its transaction rolls back."""


def add_that_rolls_back(web: Flask, user_id: int, title: str) -> str:
    """`record.add_book`, as the library page calls it, with a commit that fails after
    the book's and the outbox row's INSERTs ran (the trigger fired): add_book rolls
    the transaction back. Returns the id the rolled-back row had."""
    written: list[str] = []

    def fail_after_insert(session: Session, _flush: UOWTransaction) -> None:
        rows = [obj.id for obj in session.new if isinstance(obj, EmailEvent)]
        if rows:
            inserted = session.connection().scalar(
                select(func.count()).select_from(EmailEvent).where(EmailEvent.id.in_(rows))
            )
            assert inserted == len(rows)  # the INSERT ran: the trigger has fired
            written.extend(rows)
            raise CommitFailed(f"the commit of {rows} fails")

    with web.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        session = db.session()
        orm_event.listen(session, "after_flush", fail_after_insert)
        try:
            with pytest.raises(CommitFailed):
                record.add_book(user, book_input(title))
        finally:
            orm_event.remove(session, "after_flush", fail_after_insert)
        books = select(func.count()).select_from(Book).where(Book.owner_id == user_id)
        assert db.session.scalar(books) == 0  # the book went with it
    [event_id] = written
    return event_id


def wait_published(outbox: Outbox, event_id: str) -> None:
    """Poll the row until a relay published it, for at most WAKE_DEADLINE_S."""
    if not wait_until(lambda: outbox.row(event_id)["publications"] >= 1, WAKE_DEADLINE_S):
        raise AssertionError(f"{event_id} not published {WAKE_DEADLINE_S}s after its commit")


def test_a_new_row_is_published_at_its_commit_without_a_sweep(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    relay: OutboxRelay,
    outbox: Outbox,
    mailhog: Mailbox,
    address: str,
) -> None:
    client, user_id = logged_in_client(make_web(broker.url), address)
    ids: list[str] = []
    # Twice: after a wake-up and its pass, the relay listens again.
    for title in ("El Aleph", "Ficciones"):
        response = client.post(
            "/books/new",
            data={
                "title": title,
                "author": "Jorge Luis Borges",
                "isbn": "",
                "year": "",
                "notes": "",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        [event_id] = [row["id"] for row in outbox.owned_by(user_id) if row["id"] not in ids]
        ids.append(event_id)

        wait_published(outbox, event_id)
        # Its first pass was the relay's start; its sweep has not come due since.
        assert relay.started_at is not None
        assert time.monotonic() - relay.started_at < RELAY_INTERVAL_S

    mailhog.wait_for(address, len(ids), timeout=20)
    sent = outbox.wait_for(ids, "sent", timeout=10)
    assert [(sent[i]["publications"], sent[i]["attempts"]) for i in ids] == [(1, 1)] * 2
    assert emails_per_event(mailhog, address) == {message_id(i): 1 for i in ids}


def test_a_rolled_back_add_notifies_nothing_and_is_never_published(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    relay: OutboxRelay,
    outbox: Outbox,
    notifications: DueNotifications,
    mailhog: Mailbox,
    address: str,
) -> None:
    web = make_web(broker.url)
    user_id = new_user(web, address)
    rolled_back = add_that_rolls_back(web, user_id, f"Rayuela {uuid.uuid4().hex[:6]}")
    assert outbox.rows([rolled_back]) == {}

    # The next add commits: its email goes out, and it is the only one.
    [committed] = add_books(web, user_id, ["Bestiario"], published=False)
    mailhog.wait_for(address, 1, timeout=WAKE_DEADLINE_S + 10)
    outbox.wait_for([committed], "sent", timeout=10)
    # The commit's notification reached the relay, which published, and the worker,
    # which sent: it reached our LISTEN too, after any the rollback could have sent.
    assert notifications.count() == 1
    assert emails_per_event(mailhog, address) == {message_id(committed): 1}
    assert outcome_lines(worker, "sent", rolled_back) == []
    assert outcome_lines(worker, "duplicate-skipped", rolled_back) == []
