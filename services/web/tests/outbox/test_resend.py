"""resend.resend, the user's "send again" behind the page and the API: a failed,
uncertain or pending email goes out again as the same event (same task id, so the same
Message-ID) with a fresh retry budget; one on its way or sent is refused."""

from __future__ import annotations

import pytest
from flask import Flask

from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.resend import resend
from bookshelf_tasks.delivery import EmailStatus
from services.web.tests.outbox.support import (
    EmailQueue,
    add_events,
    corrupt_payload,
    put_in_state,
    row,
)
from services.web.tests.support import Account


def event_in(event_id: str) -> EmailEvent:
    event = db.session.get(EmailEvent, event_id)
    assert event is not None
    return event


@pytest.mark.parametrize(
    ("status", "data_sent"),
    [(EmailStatus.FAILED, False), (EmailStatus.UNCERTAIN, True), (EmailStatus.PENDING, False)],
)
def test_a_resendable_email_is_published_again_with_a_fresh_budget(
    ctx: Flask, user: Account, queue: EmailQueue, status: EmailStatus, data_sent: bool
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(
        event_id,
        status,
        due_in=None if status is not EmailStatus.PENDING else 5,
        data_sent=data_sent,
        attempts=6,
        publications=3,
        last_error="550 mailbox unavailable",
    )
    assert resend(event_in(event_id)) == "queued"
    stored = row(event_id)
    assert (stored.status, stored.publications) == ("queued", 1)
    # A fresh budget counted from here; the attempt numbers go on (fencing tokens).
    assert (stored.attempts, stored.retry_budget_start) == (6, 6)
    assert (stored.data_sent, stored.last_error) == (False, None)
    assert stored.due_in is not None and 55 < stored.due_in <= 60
    assert queue.event_ids() == [event_id]  # the same event: the same Message-ID


@pytest.mark.parametrize(
    "status",
    [EmailStatus.SENT, EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.RETRYING],
)
def test_an_email_sent_or_on_its_way_is_not_resent(
    ctx: Flask, user: Account, queue: EmailQueue, status: EmailStatus
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, status, due_in=None if status is EmailStatus.SENT else 30, attempts=1)
    assert resend(event_in(event_id)) == "not-resendable"
    stored = row(event_id)
    assert (stored.status, stored.attempts) == (status.value, 1)
    assert queue.length() == 0


def test_broker_down_leaves_it_pending_for_the_relay(down_app: Flask, user: Account) -> None:
    with down_app.app_context():
        [event_id] = add_events(user.id)
        put_in_state(event_id, EmailStatus.FAILED, due_in=None, attempts=6)
        assert resend(event_in(event_id)) == "broker-down"
        stored = row(event_id)
    assert (stored.status, stored.attempts, stored.retry_budget_start) == ("pending", 6, 6)
    assert (stored.last_error or "").startswith("broker unavailable")
    assert stored.due_in is not None and stored.due_in <= 0  # due: the relay publishes it


def test_an_email_that_cannot_be_built_is_reported_invalid(
    ctx: Flask, user: Account, queue: EmailQueue
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.FAILED, due_in=None, attempts=6)
    corrupt_payload(event_id)
    assert resend(event_in(event_id)) == "invalid"
    assert row(event_id).status == "failed"
    assert queue.length() == 0
