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
from bookshelf.extensions import db
from bookshelf.models import EmailEvent, User
from bookshelf.outbox_relay import RelayLoop, relay_pending
from bookshelf_tasks import EMAIL_QUEUE
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.process import wait_until

WEB = Path(__file__).resolve().parents[1]
MIGRATIONS = str(WEB / "migrations")
FLASK = str(Path(sys.executable).with_name("flask"))
NO_GRACE = timedelta(0)
BOOK = BookInput("Rayuela", "Julio Cortázar", None, 1963, None)


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
