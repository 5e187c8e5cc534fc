"""The outbox relay against the real test Postgres and a real Redis-protocol broker
(messages stay on the `email` queue: no worker is needed to see what was published).

The relay takes every due pending row of its database, so this module has a database
of its own and empties email_events before each test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select, text, update

from bookshelf import create_app, outbox
from bookshelf.book_input import BookInput
from bookshelf.celery_app import producer
from bookshelf.extensions import db
from bookshelf.models import EmailEvent, User
from bookshelf.outbox_relay import RelayLoop, relay_pending
from bookshelf_tasks import EMAIL_QUEUE
from bookshelf_tasks.celery_config import RESULT_EXPIRES
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.process import wait_until

WEB = Path(__file__).resolve().parents[1]
MIGRATIONS = str(WEB / "migrations")
FLASK = str(Path(sys.executable).with_name("flask"))
NO_GRACE = timedelta(0)
BOOK = BookInput("Rayuela", "Julio Cortázar", None, 1963, None)
# Celery's RedisBackend stores states with redis-py's deprecated setex.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


@pytest.fixture(scope="module")
def relay_database_url(postgres: PostgresServer) -> str:
    url = postgres.create_database("relay_test")
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": url,
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        }
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return url


@pytest.fixture
def queue(broker: BrokerServer) -> Iterator[Callable[[], list[str]]]:
    """The task ids on the broker's email queue, in publishing order."""
    client = redis.Redis.from_url(broker.url)
    client.flushall()

    def task_ids() -> list[str]:
        raw = reversed(client.lrange(EMAIL_QUEUE, 0, -1))  # LPUSHed: newest first
        return [json.loads(message)["headers"]["id"] for message in raw]

    yield task_ids
    client.close()


@pytest.fixture
def relay_app(
    make_app: Callable[..., Flask], relay_database_url: str, broker: BrokerServer
) -> Iterator[Flask]:
    app = make_app(SQLALCHEMY_DATABASE_URI=relay_database_url, CELERY_BROKER_URL=broker.url)
    with app.app_context():
        db.session.execute(text("DELETE FROM email_events"))
        db.session.commit()
        yield app


@pytest.fixture
def make_events(relay_app: Flask) -> Callable[..., list[str]]:
    """`n` pending events, the first one the oldest, created `age` ago and 1 s apart."""

    def make(n: int, age: timedelta = timedelta(minutes=1)) -> list[str]:
        user = User(name="Ana", email=f"ana-{time.time_ns()}@example.com", password_hash="x")
        db.session.add(user)
        db.session.commit()
        ids = [outbox.add_book(user, BOOK)[1].id for _ in range(n)]
        start = datetime.now(UTC) - age
        for i, event_id in enumerate(ids):
            db.session.execute(
                update(EmailEvent)
                .where(EmailEvent.id == event_id)
                .values(created_at=start - timedelta(seconds=n - i))
            )
        db.session.commit()
        return ids

    return make


def statuses(ids: list[str]) -> list[str]:
    db.session.expire_all()
    by_id = dict(db.session.execute(select(EmailEvent.id, EmailEvent.status)).all())
    return [by_id[i] for i in ids]


def test_pending_events_are_queued_oldest_first(make_events: Any, queue: Any) -> None:
    ids = make_events(3)
    result = relay_pending(limit=10, older_than=NO_GRACE)
    assert (result.queued, result.still_pending, result.broker_down) == (3, 0, False)
    assert queue() == ids  # the task id is the event id
    assert statuses(ids) == ["queued"] * 3
    again = relay_pending(limit=10, older_than=NO_GRACE)
    assert (again.queued, again.still_pending) == (0, 0)
    assert len(queue()) == 3


def test_events_younger_than_the_grace_period_are_left_to_their_request(
    make_events: Any, queue: Any
) -> None:
    old = make_events(1, age=timedelta(seconds=30))
    fresh = make_events(1, age=timedelta(seconds=0))
    result = relay_pending(limit=10, older_than=timedelta(seconds=10))
    assert (result.queued, result.still_pending) == (1, 0)
    assert queue() == old
    assert statuses(fresh) == ["pending"]


def test_a_pass_handles_at_most_limit_events(make_events: Any, queue: Any) -> None:
    ids = make_events(5)
    result = relay_pending(limit=2, older_than=NO_GRACE)
    assert (result.queued, result.still_pending) == (2, 3)
    assert queue() == ids[:2]
    assert statuses(ids) == ["queued"] * 2 + ["pending"] * 3


def test_broker_down_stops_the_pass_at_the_first_event(
    make_app: Callable[..., Flask], relay_database_url: str, make_events: Any
) -> None:
    ids = make_events(3)
    down = make_app(
        SQLALCHEMY_DATABASE_URI=relay_database_url,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    with down.app_context():
        result = relay_pending(limit=10, older_than=NO_GRACE)
        assert (result.queued, result.still_pending, result.broker_down) == (0, 3, True)
        errors = [db.session.get(EmailEvent, i).last_error for i in ids]
    assert errors[0].startswith("broker unavailable")
    assert errors[1:] == [None, None]  # not even tried
    assert statuses(ids) == ["pending"] * 3


def test_an_invalid_payload_fails_for_good_and_the_pass_goes_on(
    make_events: Any, queue: Any
) -> None:
    broken, good = make_events(2)
    event = db.session.get(EmailEvent, broken)
    event.payload = {**event.payload, "user_email": "not an address"}
    db.session.commit()
    result = relay_pending(limit=10, older_than=NO_GRACE)
    assert (result.queued, result.undeliverable, result.still_pending) == (1, 1, 0)
    assert queue() == [good]
    assert statuses([broken, good]) == ["failed", "queued"]
    assert "user_email" in (db.session.get(EmailEvent, broken).last_error or "")


def test_a_row_locked_by_another_relay_is_skipped(
    relay_app: Flask, make_events: Any, queue: Any
) -> None:
    held, free = make_events(2)
    with db.engine.connect() as other_relay:
        other_relay.execute(
            text("SELECT id FROM email_events WHERE id = :id FOR UPDATE"), {"id": held}
        )
        result = relay_pending(limit=10, older_than=NO_GRACE)
        other_relay.rollback()
    assert result.queued == 1 and result.still_pending == 1  # counted, not taken
    assert queue() == [free]


def test_concurrent_relays_never_publish_an_event_twice(
    relay_app: Flask, make_events: Any, queue: Any
) -> None:
    ids = make_events(60)
    results: list[Any] = []

    def one_relay() -> None:
        with relay_app.app_context():
            results.append(relay_pending(limit=100, older_than=NO_GRACE))
            db.session.remove()

    threads = [threading.Thread(target=one_relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.queued for r in results) == 60
    published = queue()
    assert sorted(published) == sorted(ids) and len(set(published)) == 60
    assert statuses(ids) == ["queued"] * 60


def test_cli_once_reports_the_pass_and_touches_the_heartbeat(
    relay_app: Flask, make_events: Any, queue: Any, tmp_path: Path
) -> None:
    ids = make_events(2)
    heartbeat = tmp_path / "relay.heartbeat"
    args = ["outbox", "relay", "--once", "--grace", "0", "--heartbeat-file", str(heartbeat)]
    done = relay_app.test_cli_runner().invoke(args=args)
    assert done.exit_code == 0, done.output
    assert "queued 2, undeliverable 0, still pending 0" in done.output
    assert heartbeat.exists()
    assert queue() == ids


def test_loop_stops_when_asked(relay_app: Flask, make_events: Any, tmp_path: Path) -> None:
    ids = make_events(1)
    loop = RelayLoop(interval=30, grace=NO_GRACE, heartbeat=tmp_path / "beat")

    def run_in_context() -> None:
        with relay_app.app_context():
            loop.run()

    thread = threading.Thread(target=run_in_context)
    thread.start()
    assert wait_until((tmp_path / "beat").exists, 10)
    loop.stop()
    thread.join(5)  # well before the 30 s interval
    assert not thread.is_alive()
    assert statuses(ids) == ["queued"]


def test_relay_process_exits_cleanly_on_sigterm(
    relay_database_url: str, broker: BrokerServer, make_events: Any, queue: Any, tmp_path: Path
) -> None:
    ids = make_events(2)
    heartbeat = tmp_path / "relay.heartbeat"
    env = {
        **os.environ,
        "SECRET_KEY": "relay",
        "DATABASE_URL": relay_database_url,
        "CELERY_BROKER_URL": broker.url,
        "CELERY_RESULT_BACKEND": broker.url,
    }
    argv = [FLASK, "--app", "bookshelf", "outbox", "relay", "--interval", "60", "--grace", "0"]
    process = subprocess.Popen(
        [*argv, "--heartbeat-file", str(heartbeat)],
        cwd=WEB,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(heartbeat.exists, 30), "no pass finished"
        assert queue() == ids
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)  # well before the 60 s interval
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "2 queued" in output and "outbox relay stopped" in output


# --- Stale queued rows: the broker lost their message (stale_queued.py) -----------

STALE_AFTER = timedelta(minutes=10)
REQUEST_ID = "req-stale-0123456789"


@pytest.fixture
def messages(broker: BrokerServer) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The headers of the messages on the email queue, in publishing order."""
    client = redis.Redis.from_url(broker.url)

    def headers() -> list[dict[str, Any]]:
        raw = reversed(client.lrange(EMAIL_QUEUE, 0, -1))
        return [json.loads(message)["headers"] for message in raw]

    yield headers
    client.close()


@pytest.fixture
def make_queued(
    make_events: Callable[..., list[str]], broker: BrokerServer
) -> Callable[..., list[str]]:
    """`n` events queued by a relay pass, then the broker's data lost (FLUSHALL, as a
    redis restart without persistence does), each queued `queued_ago` ago."""

    def make(n: int, queued_ago: timedelta = STALE_AFTER + timedelta(minutes=1)) -> list[str]:
        ids = make_events(n)
        db.session.execute(
            update(EmailEvent).where(EmailEvent.id.in_(ids)).values(request_id=REQUEST_ID)
        )
        db.session.commit()
        assert relay_pending(limit=n, older_than=NO_GRACE).queued == n
        redis.Redis.from_url(broker.url).flushall()
        set_queued_at(ids, datetime.now(UTC) - queued_ago)
        return ids

    return make


def set_queued_at(ids: list[str], when: datetime) -> None:
    db.session.execute(update(EmailEvent).where(EmailEvent.id.in_(ids)).values(queued_at=when))
    db.session.commit()


def store_state(task_id: str, state: str, result: Any = None) -> None:
    producer().backend.store_result(task_id, result, state)


def queued_at(event_id: str) -> datetime:
    db.session.expire_all()
    return db.session.get(EmailEvent, event_id).queued_at


def test_a_stale_queued_event_without_state_is_queued_again_with_the_same_ids(
    make_queued: Any, queue: Any, messages: Any
) -> None:
    ids = make_queued(2)
    assert queue() == []  # lost with the broker's data; the rows still say 'queued'
    before = queued_at(ids[0])

    result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)

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
    again = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
    assert again.requeued == 0 and len(queue()) == 2


def test_a_queued_event_younger_than_stale_after_is_left_alone(
    make_queued: Any, queue: Any
) -> None:
    [young] = make_queued(1, queued_ago=timedelta(minutes=5))
    result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
    assert (result.requeued, result.settled) == (0, 0)
    assert queue() == [] and statuses([young]) == ["queued"]


def test_a_stale_event_with_a_final_state_is_recorded_not_sent_again(
    make_queued: Any, queue: Any
) -> None:
    sent, failed = make_queued(2)
    store_state(sent, "SUCCESS", "sent")
    store_state(failed, "FAILURE", {"exc_type": "EmailFailed", "exc_message": ["550 no"]})
    result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
    assert (result.requeued, result.settled) == (0, 2)
    assert queue() == []
    assert statuses([sent, failed]) == ["sent", "failed"]


def test_a_stale_event_a_worker_holds_is_left_alone(make_queued: Any, queue: Any) -> None:
    started, retrying, lost = make_queued(3)
    store_state(started, "STARTED", {"pid": 1, "hostname": "w"})
    store_state(retrying, "RETRY", {"exc_type": "SMTPServerDisconnected", "exc_message": []})
    result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
    assert (result.requeued, result.settled) == (1, 0)
    assert queue() == [lost]
    assert statuses([started, retrying, lost]) == ["queued"] * 3


def test_an_event_queued_beyond_result_expires_is_never_sent_again(
    make_queued: Any, queue: Any
) -> None:
    """Its state and the worker's sent-marker have expired: PENDING proves nothing."""
    [ancient] = make_queued(1, queued_ago=timedelta(seconds=RESULT_EXPIRES))
    result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
    assert result.requeued == 0 and queue() == []
    assert statuses([ancient]) == ["queued"]


def test_a_stale_row_locked_by_another_relay_is_skipped(
    relay_app: Flask, make_queued: Any, queue: Any
) -> None:
    held, free = make_queued(2)
    with db.engine.connect() as other_relay:
        other_relay.execute(
            text("SELECT id FROM email_events WHERE id = :id FOR UPDATE"), {"id": held}
        )
        result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
        other_relay.rollback()
    assert result.requeued == 1 and queue() == [free]


def test_concurrent_relays_requeue_a_stale_event_once(
    relay_app: Flask, make_queued: Any, queue: Any
) -> None:
    ids = make_queued(30)
    results: list[Any] = []

    def one_relay() -> None:
        with relay_app.app_context():
            results.append(relay_pending(older_than=NO_GRACE, stale_after=STALE_AFTER))
            db.session.remove()

    threads = [threading.Thread(target=one_relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.requeued for r in results) == 30
    assert sorted(queue()) == sorted(ids)


def test_unreadable_states_stop_the_stale_pass(
    make_app: Callable[..., Flask], relay_database_url: str, make_queued: Any
) -> None:
    [event_id] = make_queued(1)
    down = make_app(
        SQLALCHEMY_DATABASE_URI=relay_database_url,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    with down.app_context():
        result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
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
    [raw] = [m for m in client.lrange(EMAIL_QUEUE, 0, -1) if event_id in m.decode()]
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
    [raw_lost] = [m for m in client.lrange(EMAIL_QUEUE, 0, -1) if lost in m.decode()]
    client.lrem(EMAIL_QUEUE, 1, raw_lost)  # the broker lost this one
    set_queued_at([waiting, lost], datetime.now(UTC) - STALE_AFTER - timedelta(minutes=1))

    for _ in range(3):  # pass after pass, one copy of each
        result = relay_pending(limit=10, older_than=NO_GRACE, stale_after=STALE_AFTER)
        set_queued_at([waiting, lost], datetime.now(UTC) - STALE_AFTER - timedelta(minutes=1))
        assert result.broker_down is False

    on_list = queue()
    assert on_list.count(lost) == 1  # re-sent once: its copy is on the queue now
    assert on_list.count(waiting) == (1 if where == "queue" else 0)
    assert statuses([waiting, lost]) == ["queued"] * 2
    client.close()
