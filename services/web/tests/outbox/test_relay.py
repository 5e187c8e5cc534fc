"""relay.relay_due: every row in flight whose due time passed is moved on, from Postgres
alone. Pending and unclaimed rows are published again with a doubling lease; a send
whose worker vanished is published again before DATA and becomes 'uncertain' after it
(never republished); several relays never publish one row twice.

Each test starts from an empty email_events (`no_rows`): a pass takes every due row.
"""

from __future__ import annotations

import pytest
from flask import Flask

from bookshelf.outbox.relay import relay_due
from bookshelf_tasks.delivery import EmailStatus
from services.web.tests.outbox.support import (
    EmailQueue,
    add_due_events,
    add_events,
    corrupt_payload,
    locked_by_another_relay,
    make_due,
    put_in_state,
    row,
    run_concurrent_relays,
    statuses,
)
from services.web.tests.support import Account

pytestmark = pytest.mark.usefixtures("no_rows")


def lease_of(event_id: str) -> float:
    due_in = row(event_id).due_in
    assert due_in is not None
    return due_in


def test_due_pending_rows_are_published_oldest_first(user: Account, queue: EmailQueue) -> None:
    ids = add_due_events(user.id, 3)
    result = relay_due()
    assert (result.published, result.still_due, result.broker_down) == (3, 0, False)
    assert queue.event_ids() == ids
    assert statuses(ids) == ["queued"] * 3
    assert all(55 < lease_of(event_id) <= 60 for event_id in ids)
    again = relay_due()
    assert (again.published, again.still_due) == (0, 0)
    assert queue.length() == 3


def test_rows_not_due_yet_are_left_alone(user: Account, queue: EmailQueue) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.QUEUED, due_in=30, publications=1)
    assert relay_due().published == 0
    assert (statuses([event_id]), queue.length()) == (["queued"], 0)


def test_an_unclaimed_row_is_published_again_each_time_its_lease_passes_doubling_it(
    user: Account, queue: EmailQueue
) -> None:
    [event_id] = add_due_events(user.id)
    leases = []
    for publication in (1, 2, 3):
        assert relay_due().published == 1
        stored = row(event_id)
        assert (stored.status, stored.publications) == ("queued", publication)
        leases.append(lease_of(event_id))
        make_due(event_id)  # nobody claimed it: the message was lost with the broker
    assert [round(lease, -1) for lease in leases] == [60, 120, 240]
    assert queue.event_ids() == [event_id] * 3


@pytest.mark.parametrize("publications", [5, 40, 1000])
def test_the_lease_is_capped_at_thirty_minutes(
    user: Account, queue: EmailQueue, publications: int
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.QUEUED, due_in=-1, publications=publications)
    assert relay_due().published == 1
    assert row(event_id).publications == publications + 1
    assert 1795 < lease_of(event_id) <= 1800  # 60 s x 2^5 = 32 min: over the cap
    assert queue.length() == 1


def test_a_queued_row_within_its_lease_is_left_alone(user: Account, queue: EmailQueue) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.QUEUED, due_in=30, publications=1)
    assert relay_due().published == 0
    assert (row(event_id).publications, queue.length()) == (1, 0)


def test_a_send_whose_worker_vanished_before_data_is_published_again(
    user: Account, queue: EmailQueue
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.SENDING, due_in=-1, attempts=1, publications=1)
    result = relay_due()
    assert (result.published, result.uncertain) == (1, 0)
    stored = row(event_id)
    assert (stored.status, stored.attempts, stored.publications) == ("queued", 1, 2)
    assert 115 < lease_of(event_id) <= 120
    assert queue.event_ids() == [event_id]


def test_a_send_whose_worker_vanished_after_data_becomes_uncertain_and_is_not_republished(
    user: Account, queue: EmailQueue
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.SENDING, due_in=-1, data_sent=True, attempts=1)
    result = relay_due()
    assert (result.published, result.uncertain, result.still_due) == (0, 1, 0)
    stored = row(event_id)
    assert (stored.status, stored.due_in, stored.attempts) == ("uncertain", None, 1)
    assert "after handing the message to the mail server" in (stored.last_error or "")
    assert queue.length() == 0  # LLEN email: a resend could double the email
    assert relay_due().handled == 0
    assert queue.length() == 0


@pytest.mark.parametrize("data_sent", [False, True], ids=["before-data", "after-data"])
def test_a_send_within_its_lease_is_left_alone(
    user: Account, queue: EmailQueue, data_sent: bool
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, EmailStatus.SENDING, due_in=30, data_sent=data_sent, attempts=1)
    assert relay_due().handled == 0
    assert (row(event_id).status, queue.length()) == ("sending", 0)


def test_a_retry_whose_message_was_lost_is_published_again_once_due(
    user: Account, queue: EmailQueue
) -> None:
    lost, waiting = add_events(user.id, 2)
    put_in_state(lost, EmailStatus.RETRYING, due_in=-1, attempts=2, last_error="421 busy")
    put_in_state(waiting, EmailStatus.RETRYING, due_in=30, attempts=2, last_error="421 busy")
    assert relay_due().published == 1
    assert statuses([lost, waiting]) == ["queued", "retrying"]
    assert row(lost).attempts == 2  # the retry budget goes on
    assert queue.event_ids() == [lost]


@pytest.mark.parametrize("status", [EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.UNCERTAIN])
def test_a_final_row_is_never_touched_even_with_a_past_due_time(
    user: Account, queue: EmailQueue, status: EmailStatus
) -> None:
    [event_id] = add_events(user.id)
    put_in_state(event_id, status, due_in=-1, attempts=1, data_sent=True)
    result = relay_due()
    assert (result.handled, result.still_due) == (0, 0)
    assert (row(event_id).status, queue.length()) == (status.value, 0)


def test_a_pass_handles_at_most_limit_rows(user: Account, queue: EmailQueue) -> None:
    ids = add_due_events(user.id, 5)
    result = relay_due(limit=2)
    assert (result.published, result.still_due) == (2, 3)
    assert queue.event_ids() == ids[:2]
    assert statuses(ids) == ["queued"] * 2 + ["pending"] * 3


def test_broker_down_stops_the_pass_at_the_first_row(down_app: Flask, user: Account) -> None:
    with down_app.app_context():
        ids = add_due_events(user.id, 3)
        result = relay_due()
        assert (result.published, result.still_due, result.broker_down) == (0, 3, True)
        errors = [row(event_id).last_error for event_id in ids]
        assert statuses(ids) == ["pending"] * 3
    assert (errors[0] or "").startswith("broker unavailable")
    assert errors[1:] == [None, None]  # not even tried


def test_an_invalid_payload_fails_for_good_and_the_pass_goes_on(
    user: Account, queue: EmailQueue
) -> None:
    broken, good = add_due_events(user.id, 2)
    corrupt_payload(broken)
    result = relay_due()
    assert (result.published, result.undeliverable, result.still_due) == (1, 1, 0)
    assert queue.event_ids() == [good]
    assert statuses([broken, good]) == ["failed", "queued"]
    assert "user_email" in (row(broken).last_error or "")


def test_a_row_locked_by_another_relay_is_skipped(user: Account, queue: EmailQueue) -> None:
    held, free = add_due_events(user.id, 2)
    with locked_by_another_relay(held):
        result = relay_due()
    assert result.published == 1  # the held row is left to the relay holding it
    assert statuses([held]) == ["pending"]
    assert queue.event_ids() == [free]


def test_concurrent_relays_never_publish_a_row_twice(
    ctx: Flask, user: Account, queue: EmailQueue
) -> None:
    pending = add_due_events(user.id, 40)
    unclaimed = add_events(user.id, 10)
    vanished = add_events(user.id, 10)
    for event_id in unclaimed:
        put_in_state(event_id, EmailStatus.QUEUED, due_in=-1, publications=1)
    for event_id in vanished:
        put_in_state(event_id, EmailStatus.SENDING, due_in=-1, data_sent=True, attempts=1)

    results = run_concurrent_relays(ctx, relays=3)

    assert sum(result.published for result in results) == 50
    assert sum(result.uncertain for result in results) == 10
    assert queue.length() == 50  # LLEN email: one message per republished row
    published = queue.event_ids()
    assert sorted(published) == sorted(pending + unclaimed)
    assert statuses(pending + unclaimed) == ["queued"] * 50
    assert statuses(vanished) == ["uncertain"] * 10
