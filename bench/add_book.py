"""Benchmark (not a test): the cost of the email dispatch in the add-book request,
and how long an email takes to reach the mailbox.

    .venv/bin/python -m bench.add_book [--requests 200]

Everything is real and local: Postgres (migrated with Flask-Migrate), redis-server,
a `celery worker` process and MailHog. Requests go through Flask's test client
(in-process, no HTTP server), sequentially, so the figures isolate the app's own
work: the insert and outbox row, plus the publish to the broker.
Modes: "insert only" (dispatch replaced by a no-op), "with dispatch" (the real
path), "broker down" (nothing listens on the broker port).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from bookshelf import create_app, notifications
from bookshelf.extensions import db
from bookshelf.models import User
from devstack.broker import BrokerServer
from devstack.mailhog import Email, MailHogServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.worker import CeleryWorker

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = str(REPO / "services" / "web" / "migrations")
WARMUP = 20


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<30} n={len(ms):<4} median={statistics.median(ms):7.2f} ms  "
        f"p99={percentile(ms, 0.99):7.2f} ms  max={max(ms):7.2f} ms"
    )


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


def mailhog_received_at(email: Email) -> float:
    created = email.raw["Created"]  # RFC 3339, nanoseconds with trailing zeros trimmed
    head, _, rest = created.partition(".")
    fraction, zone = (rest[:-1], "+00:00") if rest.endswith("Z") else (rest[:-6], rest[-6:])
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}{zone}").timestamp()


@contextmanager
def services(workdir: Path) -> Iterator[tuple[str, BrokerServer, MailHogServer]]:
    with ExitStack() as stack:
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


def run(count: int) -> None:
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
            email.subject.split(": ", 1)[1]: mailhog_received_at(email)
            for email in emails
            if "dispatched" in email.subject
        }
        from_start = [arrivals[title] - start for title, (start, _) in timeline.items()]
        from_reply = [arrivals[title] - end for title, (_, end) in timeline.items()]

        client = logged_in(down, f"bench-{uuid.uuid4().hex[:8]}@example.com")
        add_books(client, 5, "warm-up")
        broker_down, _ = add_books(client, count, "broker down")

    print(f"add-book POST via Flask test client, {count} sequential requests per mode")
    print(summary("insert only (no dispatch)", insert_only))
    print(summary("with dispatch", with_dispatch))
    print(summary("broker down", broker_down))
    extra = statistics.median(with_dispatch) - statistics.median(insert_only)
    print(f"{'dispatch cost (median)':<30} {extra * 1000:.2f} ms")
    print(summary("POST sent -> email in MailHog", from_start))
    print(summary("reply -> email in MailHog", from_reply))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    run(parser.parse_args().requests)


if __name__ == "__main__":
    main()
