"""`flask outbox relay`: one pass with --once, the loop (heartbeat, stop on request),
and the real process exiting cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask import Flask

from bookshelf.outbox.relay import RelayLoop
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.process import wait_until
from services.web.tests.outbox.support import EmailQueue, add_due_events, statuses
from services.web.tests.support import Account, MakeApp

WEB = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.mark.usefixtures("no_rows")
def test_once_reports_the_pass_and_touches_the_heartbeat(
    ctx: Flask, user: Account, queue: EmailQueue, tmp_path: Path
) -> None:
    ids = add_due_events(user.id, 2)
    heartbeat = tmp_path / "relay.heartbeat"
    args = ["outbox", "relay", "--once", "--heartbeat-file", str(heartbeat)]
    done = ctx.test_cli_runner().invoke(args=args)
    assert done.exit_code == 0, done.output
    assert "published 2, uncertain 0, undeliverable 0, still due 0" in done.output
    assert heartbeat.exists()
    assert queue.event_ids() == ids


def test_once_fails_loudly_when_the_pass_fails(make_app: MakeApp, tmp_path: Path) -> None:
    dead = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing"
    app = make_app(SQLALCHEMY_DATABASE_URI=dead)
    heartbeat = tmp_path / "relay.heartbeat"
    done = app.test_cli_runner().invoke(
        args=["outbox", "relay", "--once", "--heartbeat-file", str(heartbeat)]
    )
    assert done.exit_code == 1
    assert "the relay pass failed" in done.output
    assert not heartbeat.exists()  # the healthcheck sees a relay that does no work


@pytest.mark.usefixtures("no_rows")
def test_the_loop_stops_when_asked(ctx: Flask, user: Account, tmp_path: Path) -> None:
    ids = add_due_events(user.id)
    loop = RelayLoop(interval=30, heartbeat=tmp_path / "beat")

    def run_in_context() -> None:
        with ctx.app_context():
            loop.run()

    thread = threading.Thread(target=run_in_context)
    thread.start()
    assert wait_until((tmp_path / "beat").exists, 10)
    loop.stop()
    thread.join(5)  # well before the 30 s interval
    assert not thread.is_alive()
    assert statuses(ids) == ["queued"]


@pytest.mark.usefixtures("no_rows")
def test_the_relay_process_exits_cleanly_on_sigterm(
    ctx: Flask,
    outbox_database_url: str,
    broker: BrokerServer,
    user: Account,
    queue: EmailQueue,
    tmp_path: Path,
) -> None:
    ids = add_due_events(user.id, 2)
    heartbeat = tmp_path / "relay.heartbeat"
    env = {
        **os.environ,
        "SECRET_KEY": "relay",
        "DATABASE_URL": outbox_database_url,
        "CELERY_BROKER_URL": broker.url,
    }
    argv = [FLASK, "--app", "bookshelf", "outbox", "relay", "--interval", "60"]
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
        assert queue.event_ids() == ids
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)  # well before the 60 s interval
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, output
    assert "2 published" in output and "outbox relay stopped" in output
