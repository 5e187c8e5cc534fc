"""Benchmark (not a test): the cost of the email dispatch in the add-book request,
and how long an email takes to reach the mailbox.

    .venv/bin/python -m bench.add_book [--quick] [--requests 200]

Everything is real and local: Postgres (migrated with Flask-Migrate), redis-server,
a `celery worker` process and MailHog. Requests go through Flask's test client
(in-process, no HTTP server), sequentially, so the figures isolate the app's own
work: the insert and outbox row, plus the publish to the broker.
Modes: "insert only" (dispatch replaced by a no-op), "with dispatch" (the real
path), "broker down" (nothing listens on the broker port).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from bench.cli import Figures, Option, Row, run_alone
from bench.mailbox import mailhog_created_at
from bench.stats import describe, latency_ms
from bookshelf import create_app, notifications
from bookshelf.extensions import db
from bookshelf.models import User
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.worker import CeleryWorker

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = str(REPO / "services" / "web" / "migrations")
WARMUP = 20
NAME = "add_book"
OPTIONS = [Option("requests", 200, 50, "sequential add-book POSTs per mode")]


def web_app(database_url: str, broker_url: str) -> Flask:
    return create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "CELERY_BROKER_URL": broker_url,
        }
    )


def logged_in(app: Flask, address: str) -> FlaskClient:
    with app.app_context():
        user = User(
            name="Bench",
            email=address,
            locale="es",
            password_hash=generate_password_hash("bench", method="pbkdf2:sha256:1"),
        )
        db.session.add(user)
        db.session.commit()
        user_id = str(user.id)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
    return client


Timeline = dict[str, tuple[float, float]]


def add_books(client: FlaskClient, count: int, prefix: str) -> tuple[list[float], Timeline]:
    """Durations of `count` add-book POSTs, and each title's wall-clock (start, end)."""
    durations: list[float] = []
    timeline: Timeline = {}
    for i in range(count):
        title = f"{prefix} {i:04d}"
        wall_start, began = time.time(), time.perf_counter()
        response = client.post("/books/new", data={"title": title, "author": "Bench"})
        durations.append(time.perf_counter() - began)
        timeline[title] = (wall_start, time.time())
        assert response.status_code == 302, response.status_code
    return durations, timeline


@contextmanager
def services(workdir: Path) -> Iterator[tuple[str, BrokerServer, MailHogServer]]:
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)  # runs last
        postgres = stack.enter_context(PostgresServer())
        database_url = postgres.create_database("bookshelf_bench")
        broker = BrokerServer(workdir / "broker").start()
        stack.callback(broker.stop)
        mailhog = MailHogServer(workdir).start()
        stack.callback(mailhog.stop)
        worker = CeleryWorker(workdir, broker.url, mailhog.smtp_port, concurrency=2).start()
        stack.callback(worker.stop)
        app = web_app(database_url, broker.url)
        with app.app_context():
            upgrade(directory=MIGRATIONS)
        yield database_url, broker, mailhog


def run(args: argparse.Namespace) -> Figures:
    count = args.requests
    workdir = Path(tempfile.mkdtemp(prefix="bookshelf-bench-"))
    with services(workdir) as (database_url, broker, mailhog):
        real_dispatch = notifications.dispatch
        up = web_app(database_url, broker.url)
        down = web_app(database_url, f"redis://127.0.0.1:{free_port()}/0")

        notifications.dispatch = lambda event: True
        client = logged_in(up, f"bench-{uuid.uuid4().hex[:8]}@example.com")
        add_books(client, WARMUP, "warm-up")
        insert_only, _ = add_books(client, count, "insert only")
        notifications.dispatch = real_dispatch

        address = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        client = logged_in(up, address)
        add_books(client, WARMUP, "warm-up")
        with_dispatch, timeline = add_books(client, count, "dispatched")
        emails = mailhog.client().wait_for(address, WARMUP + count, timeout=120)
        arrivals = {
            email.subject.split(": ", 1)[1]: mailhog_created_at(email)
            for email in emails
            if "dispatched" in email.subject
        }
        from_start = [arrivals[title] - start for title, (start, _) in timeline.items()]
        from_reply = [arrivals[title] - end for title, (_, end) in timeline.items()]

        client = logged_in(down, f"bench-{uuid.uuid4().hex[:8]}@example.com")
        # One expected warning per add ("left pending, broker unavailable"): not news here.
        logging.getLogger("bookshelf.notifications").setLevel(logging.ERROR)
        add_books(client, 5, "warm-up")
        broker_down, _ = add_books(client, count, "broker down")

    extra = statistics.median(with_dispatch) - statistics.median(insert_only)
    return {
        "requests": count,
        "insert_only_ms": latency_ms(insert_only),
        "with_dispatch_ms": latency_ms(with_dispatch),
        "broker_down_ms": latency_ms(broker_down),
        "dispatch_cost_median_ms": round(extra * 1000, 2),
        "post_sent_to_email_ms": latency_ms(from_start),
        "reply_to_email_ms": latency_ms(from_reply),
    }


def summary_rows(figures: Figures) -> list[Row]:
    return [
        ("POST insert only (no dispatch)", describe(figures["insert_only_ms"])),
        ("POST with dispatch", describe(figures["with_dispatch_ms"])),
        ("POST, broker down", describe(figures["broker_down_ms"])),
        ("dispatch cost (difference of medians)", f"{figures['dispatch_cost_median_ms']} ms"),
        ("POST sent -> email in MailHog", describe(figures["post_sent_to_email_ms"])),
        ("reply -> email in MailHog", describe(figures["reply_to_email_ms"])),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return run_alone(NAME, __doc__ or NAME, OPTIONS, run, summary_rows, argv)


if __name__ == "__main__":
    raise SystemExit(main())
