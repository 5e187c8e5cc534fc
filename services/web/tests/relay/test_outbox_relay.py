"""The outbox relay's pending pass: due 'pending' rows are dispatched, oldest first
(fixtures in this folder's conftest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bookshelf.extensions import db
from bookshelf.models import EmailEvent
from bookshelf.outbox_relay import RelayLoop, relay_pending
from devstack.broker import BrokerServer
from devstack.process import wait_until
from services.web.tests.relay.support import (
    NO_GRACE,
    locked_by_another_relay,
    run_concurrent_relays,
    statuses,
)

WEB = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
# Celery's RedisBackend stores states with redis-py's deprecated setex.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")


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
    broker_down_app: Flask, make_events: Any
) -> None:
    ids = make_events(3)
    with broker_down_app.app_context():
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


def test_a_row_locked_by_another_relay_is_skipped(make_events: Any, queue: Any) -> None:
    held, free = make_events(2)
    with locked_by_another_relay(held):
        result = relay_pending(limit=10, older_than=NO_GRACE)
    assert result.queued == 1 and result.still_pending == 1  # counted, not taken
    assert queue() == [free]


def test_concurrent_relays_never_publish_an_event_twice(
    relay_app: Flask, make_events: Any, queue: Any
) -> None:
    ids = make_events(60)
    results = run_concurrent_relays(relay_app, limit=100, older_than=NO_GRACE)
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
