"""The relay's stale-queued pass: 'queued' rows whose message the broker may have lost
(stale_queued.py; fixtures in this folder's conftest)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from flask import Flask

from bookshelf.outbox_relay import RelayResult, relay_pending
from bookshelf_tasks import EMAIL_QUEUE
from bookshelf_tasks.celery_config import RESULT_EXPIRES
from devstack.broker import BrokerServer
from services.web.tests.relay.support import (
    NO_GRACE,
    REQUEST_ID,
    STALE_AFTER,
    locked_by_another_relay,
    make_stale,
    queued_at,
    raw_message,
    run_concurrent_relays,
    statuses,
    store_state,
)

# Celery's RedisBackend stores states with redis-py's deprecated setex.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


def relay_pass(**options: Any) -> RelayResult:
    return relay_pending(older_than=NO_GRACE, stale_after=STALE_AFTER, **options)


def test_a_stale_queued_event_without_state_is_queued_again_with_the_same_ids(
    make_queued: Any, queue: Any, messages: Any
) -> None:
    ids = make_queued(2)
    assert queue() == []  # lost with the broker's data; the rows still say 'queued'
    before = queued_at(ids[0])

    result = relay_pass(limit=10)

    assert (result.requeued, result.settled, result.queued, result.broker_down) == (
        2,
        0,
        0,
        False,
    )
    # Task id = event id, so the same Message-ID. (Both share one queued_at: any order.)
    assert sorted(queue()) == sorted(ids)
    assert [h.get("request_id") for h in messages()] == [REQUEST_ID] * 2
    assert statuses(ids) == ["queued"] * 2
    assert queued_at(ids[0]) > before + timedelta(minutes=10)  # reset: not stale any more
    again = relay_pass(limit=10)
    assert again.requeued == 0 and len(queue()) == 2


def test_a_queued_event_younger_than_stale_after_is_left_alone(
    make_queued: Any, queue: Any
) -> None:
    [young] = make_queued(1, queued_ago=timedelta(minutes=5))
    result = relay_pass(limit=10)
    assert (result.requeued, result.settled) == (0, 0)
    assert queue() == [] and statuses([young]) == ["queued"]


def test_a_stale_event_with_a_final_state_is_recorded_not_sent_again(
    make_queued: Any, queue: Any
) -> None:
    sent, failed = make_queued(2)
    store_state(sent, "SUCCESS", "sent")
    store_state(failed, "FAILURE", {"exc_type": "EmailFailed", "exc_message": ["550 no"]})
    result = relay_pass(limit=10)
    assert (result.requeued, result.settled) == (0, 2)
    assert queue() == []
    assert statuses([sent, failed]) == ["sent", "failed"]


def test_a_stale_event_a_worker_holds_is_left_alone(make_queued: Any, queue: Any) -> None:
    started, retrying, lost = make_queued(3)
    store_state(started, "STARTED", {"pid": 1, "hostname": "w"})
    store_state(retrying, "RETRY", {"exc_type": "SMTPServerDisconnected", "exc_message": []})
    result = relay_pass(limit=10)
    assert (result.requeued, result.settled) == (1, 0)
    assert queue() == [lost]
    assert statuses([started, retrying, lost]) == ["queued"] * 3


def test_an_event_queued_beyond_result_expires_is_never_sent_again(
    make_queued: Any, queue: Any
) -> None:
    """Its state and the worker's sent-marker have expired: PENDING proves nothing."""
    [ancient] = make_queued(1, queued_ago=timedelta(seconds=RESULT_EXPIRES))
    result = relay_pass(limit=10)
    assert result.requeued == 0 and queue() == []
    assert statuses([ancient]) == ["queued"]


def test_a_stale_row_locked_by_another_relay_is_skipped(make_queued: Any, queue: Any) -> None:
    held, free = make_queued(2)
    with locked_by_another_relay(held):
        result = relay_pass(limit=10)
    assert result.requeued == 1 and queue() == [free]


def test_concurrent_relays_requeue_a_stale_event_once(
    relay_app: Flask, make_queued: Any, queue: Any
) -> None:
    ids = make_queued(30)
    results = run_concurrent_relays(relay_app, older_than=NO_GRACE, stale_after=STALE_AFTER)
    assert sum(r.requeued for r in results) == 30
    assert sorted(queue()) == sorted(ids)


def test_unreadable_states_stop_the_stale_pass(broker_down_app: Flask, make_queued: Any) -> None:
    [event_id] = make_queued(1)
    with broker_down_app.app_context():
        result = relay_pass(limit=10)
    assert (result.requeued, result.broker_down) == (0, True)
    assert statuses([event_id]) == ["queued"]


def test_cli_stale_after_option(relay_app: Flask, make_queued: Any, queue: Any) -> None:
    ids = make_queued(1, queued_ago=timedelta(minutes=2))
    args = ["outbox", "relay", "--once", "--grace", "0", "--heartbeat-file", "/dev/null"]
    done = relay_app.test_cli_runner().invoke(args=args)
    assert done.exit_code == 0, done.output
    assert "stale re-queued 0" in done.output and queue() == []  # default: 10 minutes
    done = relay_app.test_cli_runner().invoke(args=[*args, "--stale-after", "60"])
    assert done.exit_code == 0, done.output
    assert "stale re-queued 1" in done.output and queue() == ids


def _move_message(client: redis.Redis, event_id: str, where: str) -> None:
    """Move `event_id`'s message from the email list to where kombu may also keep it."""
    raw = raw_message(client, event_id)
    client.lrem(EMAIL_QUEUE, 1, raw)
    if where == "priority":  # kombu's sub-queue for priority step 9
        client.lpush(f"{EMAIL_QUEUE}\x06\x169", raw)
    else:  # reserved by a worker, not yet acknowledged
        value = json.dumps([json.loads(raw), "", EMAIL_QUEUE])
        client.hset("unacked", "delivery-tag-1", value)


@pytest.mark.parametrize("where", ["queue", "priority", "unacked"])
def test_a_stale_event_still_on_the_broker_is_not_sent_again(
    make_events: Any, queue: Any, broker: BrokerServer, where: str
) -> None:
    """No worker consumes for a long time: the message waits, it is not lost."""
    waiting, lost = make_events(2)
    assert relay_pending(limit=10, older_than=NO_GRACE).queued == 2
    client = redis.Redis.from_url(broker.url)
    if where != "queue":
        _move_message(client, waiting, where)
    client.lrem(EMAIL_QUEUE, 1, raw_message(client, lost))  # the broker lost this one
    make_stale([waiting, lost])

    for _ in range(3):  # pass after pass, one copy of each
        result = relay_pass(limit=10)
        make_stale([waiting, lost])
        assert result.broker_down is False

    on_list = queue()
    assert on_list.count(lost) == 1  # re-sent once: its copy is on the queue now
    assert on_list.count(waiting) == (1 if where == "queue" else 0)
    assert statuses([waiting, lost]) == ["queued"] * 2
    client.close()
