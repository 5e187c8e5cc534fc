"""Typed helpers of the integration tests: the web app's config and users, outbox rows
written and read as the web and worker write and read them, and what the worker logged
and MailHog received. Fixtures are in conftest.py.

Delivery state is the `email_events` row in Postgres (docs/architecture.md, "Email
delivery state"): tests read it with a Core select on `bookshelf_tasks.delivery.events`,
never from Celery, which keeps no task state."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import RowMapping, create_engine, func, select, text, update
from sqlalchemy.engine import Engine
from werkzeug.security import generate_password_hash

from bookshelf.accounts import sessions
from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.library.book_input import BookInput
from bookshelf.library.models import Book
from bookshelf.outbox import record
from bookshelf.outbox.dispatch import publish
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.relay import RelayResult, relay_due
from bookshelf_tasks import BookEvent
from bookshelf_tasks.delivery import events
from devstack.mailbox import Mailbox
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.process import wait_until
from devstack.worker import CeleryWorker

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "services" / "web" / "migrations")
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


def new_book_event(**fields: Any) -> BookEvent:
    """A valid BookEvent with a new id and the current UTC time; `fields` the rest."""
    defaults = {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat()}
    return BookEvent.from_dict({**defaults, "isbn": None, "year": None, **fields})


class MakeWeb(Protocol):
    """The `make_web` fixture: a web app on the module's database, or on `database_url`."""

    def __call__(self, broker_url: str, url: str | None = None) -> Flask: ...


def web_config(database_url: str, broker_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "integration-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "CELERY_BROKER_URL": broker_url,
    }


def clone_database(server: PostgresServer, template: str) -> str:
    """A new database copied from the migrated `template` (fast: no migrations)."""
    name = f"bookshelf_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        engine.dispose()
    return server.url(name)


def closed_broker_url() -> str:
    """A broker URL nothing listens on: publishing to it fails at once."""
    return f"redis://127.0.0.1:{free_port()}/0"


def unique_address(mailbox: str = "reader") -> str:
    """A recipient no other test uses."""
    return f"{mailbox}-{uuid.uuid4().hex[:12]}@example.com"


# --- Users and their books, through the web app.


def new_user(app: Flask, address: str, locale: str = "es") -> int:
    """A user with `address`, written as registration writes one (cheap hash), its
    address verified (else its book emails would wait for it)."""
    with app.app_context():
        user = User(
            name="Lucía Pérez",
            email=address,
            locale=locale,
            password_hash=generate_password_hash("integration", method="pbkdf2:sha256:1"),
            email_verified_at=func.now(),
        )
        db.session.add(user)
        db.session.commit()
        return int(user.id)


def logged_in_client(app: Flask, address: str, locale: str = "es") -> tuple[FlaskClient, int]:
    """A new user with `address`, and a test client logged in as them."""
    user_id = new_user(app, address, locale)
    return client_for(app, user_id), user_id


def client_for(app: Flask, user_id: int | str) -> FlaskClient:
    """A test client of `app` logged in as an existing user (a server-side session row
    and its secret in the cookie, as accounts/sessions.py logs in)."""
    client = app.test_client()
    with app.app_context():
        secret = sessions.new_session(int(user_id))
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session[sessions.SESSION_KEY] = secret
    return client


def book_input(title: str, author: str = "Italo Calvino") -> BookInput:
    return BookInput(title=title, author=author, isbn=None, year=1979, notes=None)


def add_books(
    app: Flask, user_id: int, titles: Iterable[str], *, published: bool = True
) -> list[str]:
    """Add each book as the library page does: the book and its 'added' row in one
    commit (`record.add_book`). Then, unless `published` is False, `dispatch.publish`
    on the row, as a relay pass would, so that no relay is needed; else it stays
    'pending' for the test's own relay pass. Returns the event ids, in order."""
    ids: list[str] = []
    with app.app_context():
        for title in titles:
            user = db.session.get(User, user_id)
            assert user is not None
            _, event = record.add_book(user, book_input(title))
            ids.append(event.id)
            if published:
                assert publish(event), f"the broker refused event {event.id}"
    return ids


def delete_book(app: Flask, user_id: int, event_id: str, *, published: bool = True) -> str:
    """Delete the book an 'added' event announced (`record.delete_book`), then publish
    its 'deleted' row as `add_books` does, unless `published` is False. Returns the new
    event id."""
    with app.app_context():
        user = db.session.get(User, user_id)
        added = db.session.get(EmailEvent, event_id)
        assert user is not None and added is not None
        book = db.session.get(Book, added.payload["book_id"])
        assert book is not None
        event = record.delete_book(user, book)
        if published:
            assert publish(event), f"the broker refused event {event.id}"
        return str(event.id)


def publish_again(app: Flask, event_id: str) -> bool:
    """`dispatch.publish` on the row as it is now (what the relay does to a due row)."""
    with app.app_context():
        event = db.session.get(EmailEvent, event_id)
        assert event is not None
        return publish(event)


def relay_pass(app: Flask) -> RelayResult:
    """One `flask outbox relay --once` pass, in `app`'s context."""
    with app.app_context():
        return relay_due()


def dispose_web(app: Flask) -> None:
    """Close the app's database pool and broker connections."""
    with app.app_context():
        db.engine.dispose()
    app.extensions["celery"].close()


# --- Reading and steering the outbox rows, as the worker does: Core on one engine.


class Outbox:
    """The `email_events` table of one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_size=1, max_overflow=1)

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, event_ids: Sequence[str]) -> dict[str, RowMapping]:
        with self.engine.connect() as connection:
            found = connection.execute(select(events).where(events.c.id.in_(event_ids)))
            return {row["id"]: row for row in found.mappings()}

    def row(self, event_id: str) -> RowMapping:
        return self.rows([event_id])[event_id]

    def owned_by(self, user_id: int) -> list[RowMapping]:
        query = select(events).where(events.c.owner_id == user_id).order_by(events.c.created_at)
        with self.engine.connect() as connection:
            return list(connection.execute(query).mappings())

    def force_due(self, event_ids: Sequence[str]) -> int:
        """Move the rows' due time (a lease, a retry's grace) into the past, as if it had
        run out."""
        statement = (
            update(events)
            .where(events.c.id.in_(event_ids))
            .values(due_at=text("now() - interval '1 second'"))
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount

    def wait_for(
        self, event_ids: Sequence[str], status: str, timeout: float
    ) -> dict[str, RowMapping]:
        """Poll until every row has `status`; fail at the deadline with the statuses seen."""
        seen: dict[str, RowMapping] = {}

        def reached() -> bool:
            seen.update(self.rows(event_ids))
            return all(seen[event_id]["status"] == status for event_id in event_ids)

        if not wait_until(reached, timeout):
            statuses = Counter(row["status"] for row in seen.values())
            raise AssertionError(
                f"not all {len(event_ids)} rows {status} after {timeout}s: {statuses}"
            )
        return seen

    def statuses_until(self, event_id: str, final: Sequence[str], timeout: float) -> list[str]:
        """Every status the row showed (polled every 10 ms) until one in `final`."""
        seen: list[str] = []

        def settled() -> bool:
            status = str(self.row(event_id)["status"])
            if not seen or seen[-1] != status:
                seen.append(status)
            return status in final

        assert wait_until(settled, timeout, interval=0.01), f"{event_id}: {seen} after {timeout}s"
        return seen


# --- What came out: the worker's outcome lines and the emails.


def outcome_lines(worker: CeleryWorker, outcome: str, event_id: str) -> list[str]:
    """The worker's `outcome=... event_id=...` lines (bookshelf_worker.sending.log_email)."""
    key = f"outcome={outcome} event_id={event_id} "
    return [line for line in worker.log_path.read_text().splitlines() if key in line]


def wait_for_lines(
    worker: CeleryWorker, outcome: str, event_id: str, count: int = 1, timeout: float = 20
) -> list[str]:
    """Poll the worker's log until it holds `count` such lines; fail with its tail."""
    if not wait_until(lambda: len(outcome_lines(worker, outcome, event_id)) >= count, timeout):
        tail = "\n".join(worker.log_path.read_text().splitlines()[-40:])
        raise AssertionError(f"no {count}x outcome={outcome} for {event_id}; log tail:\n{tail}")
    return outcome_lines(worker, outcome, event_id)


def message_id(event_id: str) -> str:
    return f"<{event_id}@bookshelf>"


def emails_per_event(mailhog: Mailbox, address: str) -> Counter[str]:
    """How many emails `address` got per Message-ID."""
    return Counter(email.message_id for email in mailhog.messages_to(address))
