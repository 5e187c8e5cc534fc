"""Helpers shared by the relay tests (fixtures are in this folder's conftest)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import Flask
from sqlalchemy import select, text, update

from bookshelf.celery_app import producer
from bookshelf.extensions import db
from bookshelf.models import EmailEvent
from bookshelf.outbox_relay import RelayResult, relay_pending
from bookshelf_tasks import EMAIL_QUEUE

NO_GRACE = timedelta(0)
STALE_AFTER = timedelta(minutes=10)
REQUEST_ID = "req-stale-0123456789"


def statuses(ids: list[str]) -> list[str]:
    db.session.expire_all()
    by_id = dict(db.session.execute(select(EmailEvent.id, EmailEvent.status)).all())
    return [by_id[i] for i in ids]


def set_queued_at(ids: list[str], when: datetime) -> None:
    db.session.execute(update(EmailEvent).where(EmailEvent.id.in_(ids)).values(queued_at=when))
    db.session.commit()


def make_stale(ids: list[str]) -> None:
    """Queued a minute longer ago than STALE_AFTER."""
    set_queued_at(ids, datetime.now(UTC) - STALE_AFTER - timedelta(minutes=1))


def store_state(task_id: str, state: str, result: Any = None) -> None:
    producer().backend.store_result(task_id, result, state)


def queued_at(event_id: str) -> datetime:
    db.session.expire_all()
    return db.session.get(EmailEvent, event_id).queued_at


def raw_message(client: redis.Redis, event_id: str) -> bytes:
    """`event_id`'s message as it sits on the email list."""
    [raw] = [m for m in client.lrange(EMAIL_QUEUE, 0, -1) if event_id in m.decode()]
    return raw


@contextmanager
def locked_by_another_relay(event_id: str) -> Iterator[None]:
    """`event_id`'s row held FOR UPDATE by another connection for the block."""
    with db.engine.connect() as other_relay:
        other_relay.execute(
            text("SELECT id FROM email_events WHERE id = :id FOR UPDATE"), {"id": event_id}
        )
        yield
        other_relay.rollback()


def run_concurrent_relays(app: Flask, **pass_options: Any) -> list[RelayResult]:
    """Three relay passes at once, each in its own thread and session."""
    results: list[RelayResult] = []

    def one_relay() -> None:
        with app.app_context():
            results.append(relay_pending(**pass_options))
            db.session.remove()

    threads = [threading.Thread(target=one_relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
