"""Helpers for the outbox tests (fixtures are in this folder's conftest.py).

Rows are put in a given state and due time with SQL UPDATEs on Postgres' own clock
(the one the state machine reads), never by sleeping; the broker's `email` list is read
with plain redis commands, since no worker consumes it here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.sql.expression import ColumnElement

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.book_input import BookInput
from bookshelf.outbox import record
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.relay import RelayResult, relay_due
from bookshelf_tasks.delivery import EmailStatus
from bookshelf_tasks.names import EMAIL_QUEUE

BOOK = BookInput("Rayuela", "Julio Cortázar", None, 1963, None)
TABLE = EmailEvent.__table__


class EmailQueue:
    """The broker's `email` list, as kombu's Redis transport keeps it (LPUSH, BRPOP)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def length(self) -> int:
        """LLEN: how many messages wait on the queue."""
        return int(self.client.llen(EMAIL_QUEUE))

    def headers(self) -> list[dict[str, Any]]:
        """Each message's headers, oldest first (LPUSHed, so the list is newest first)."""
        raw = self.client.lrange(EMAIL_QUEUE, 0, -1)
        return [json.loads(message)["headers"] for message in reversed(raw)]

    def event_ids(self) -> list[str]:
        """The task id of each message, oldest first; the task id is the event id."""
        return [headers["id"] for headers in self.headers()]

    def clear(self) -> None:
        self.client.delete(EMAIL_QUEUE)

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class Row:
    """An email_events row as stored, with its due time relative to Postgres' now()."""

    status: str
    attempts: int
    publications: int
    due_in: float | None  # seconds from now; negative once due
    data_sent: bool
    last_error: str | None
    delivered_at: datetime | None
    retry_budget_start: int


def row(event_id: str) -> Row:
    """A fresh read of the row (its own connection: no session cache). App context."""
    due_in = func.extract("epoch", TABLE.c.due_at - func.now())
    query = select(
        TABLE.c.status,
        TABLE.c.attempts,
        TABLE.c.publications,
        due_in,
        TABLE.c.data_sent_at.is_not(None),
        TABLE.c.last_error,
        TABLE.c.delivered_at,
        TABLE.c.retry_budget_start,
    ).where(TABLE.c.id == event_id)
    with db.engine.connect() as connection:
        found = connection.execute(query).one()
    return Row(
        status=found[0],
        attempts=found[1],
        publications=found[2],
        due_in=None if found[3] is None else float(found[3]),
        data_sent=bool(found[4]),
        last_error=found[5],
        delivered_at=found[6],
        retry_budget_start=found[7],
    )


def statuses(event_ids: list[str]) -> list[str]:
    return [row(event_id).status for event_id in event_ids]


def _from_now(seconds: float) -> ColumnElement[datetime]:
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


def put_in_state(
    event_id: str,
    status: EmailStatus,
    *,
    due_in: float | None,
    data_sent: bool = False,
    attempts: int | None = None,
    publications: int | None = None,
    last_error: str | None = None,
) -> None:
    """Set the row as a worker, a relay or time would have left it: `due_in` seconds
    from Postgres' now() (negative: already due; None: no due time, as a final state
    has), DATA begun or not. App context."""
    values: dict[str, Any] = {
        "status": status.value,
        "due_at": None if due_in is None else _from_now(due_in),
        "data_sent_at": _from_now(-1) if data_sent else None,
        "last_error": last_error,
        "delivered_at": func.now() if status is EmailStatus.SENT else None,
    }
    if attempts is not None:
        values["attempts"] = attempts
    if publications is not None:
        values["publications"] = publications
    with db.engine.begin() as connection:
        changed = connection.execute(update(TABLE).where(TABLE.c.id == event_id).values(values))
    assert changed.rowcount == 1, f"no email event {event_id}"


def make_due(event_id: str, seconds_ago: float = 1) -> None:
    """Only the due time moves, into the past: the row's grace or lease is over."""
    with db.engine.begin() as connection:
        connection.execute(
            update(TABLE).where(TABLE.c.id == event_id).values(due_at=_from_now(-seconds_ago))
        )


def corrupt_payload(event_id: str) -> None:
    """A payload the shared contract refuses (as a bug in the web would write it)."""
    with db.engine.begin() as connection:
        payload = connection.execute(
            select(TABLE.c.payload).where(TABLE.c.id == event_id)
        ).scalar_one()
        broken = {**payload, "user_email": "not an address"}
        connection.execute(update(TABLE).where(TABLE.c.id == event_id).values(payload=broken))


def add_events(user_id: int, n: int = 1, book: BookInput = BOOK) -> list[str]:
    """`n` 'added' events of the user, written as a request writes them (pending, due
    at once), not published. App context."""
    user = db.session.get(User, user_id)
    assert user is not None
    ids = [record.add_book(user, book)[1].id for _ in range(n)]
    db.session.remove()
    return ids


def add_due_events(user_id: int, n: int = 1) -> list[str]:
    """`n` pending events, due one after the other (the first the most overdue).
    App context."""
    ids = add_events(user_id, n)
    for position, event_id in enumerate(ids):
        put_in_state(event_id, EmailStatus.PENDING, due_in=-60 + position)
    return ids


@contextmanager
def locked_by_another_relay(event_id: str) -> Iterator[None]:
    """The row held FOR UPDATE by another connection for the block. App context."""
    with db.engine.connect() as other_relay:
        other_relay.execute(select(TABLE.c.id).where(TABLE.c.id == event_id).with_for_update())
        yield
        other_relay.rollback()


def run_concurrent_relays(app: Flask, relays: int = 3, limit: int = 100) -> list[RelayResult]:
    """`relays` relay passes at once, each in its own thread, app context and session."""
    results: list[RelayResult] = []
    start = threading.Barrier(relays)

    def one_relay() -> None:
        with app.app_context():
            start.wait(10)
            results.append(relay_due(limit))
            db.session.remove()

    threads = [threading.Thread(target=one_relay) for _ in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == relays, "a relay pass raised or hung"
    return results
