"""Phase 2, no mocks: the web app (test client, real Postgres migrated with
Flask-Migrate) -> broker -> `celery worker` process -> MailHog; the same web app
with its broker down; and the outbox relay that queues what it left pending."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from bookshelf import notifications
from bookshelf.extensions import db
from bookshelf.models import Book, EmailEvent, User
from bookshelf.outbox_relay import relay_pending
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient
from devstack.process import wait_until
from devstack.worker import CeleryWorker
from tests.integration.web_app import MakeWeb, client_for, closed_broker_url, logged_in_client

pytestmark = pytest.mark.integration

# The whole add-book request, broker down included, stays under this.
ADD_BOOK_BOUND_S = 1.0


def add_book(client: FlaskClient, title: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.post(
        "/books/new",
        data={"title": title, "author": "Italo Calvino", "isbn": "", "year": "1979", "notes": ""},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1]), elapsed


def events_of(app: Flask, address: str) -> list[EmailEvent]:
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email=address)).scalar_one()
        rows = (
            db.session.execute(
                db.select(EmailEvent).filter_by(owner_id=user.id).order_by(EmailEvent.created_at)
            )
            .scalars()
            .all()
        )
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def test_add_then_delete_sends_one_email_each(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    mailhog: MailHogClient,
    address: str,
) -> None:
    app = make_web(broker.url)
    client, _ = logged_in_client(app, address)
    title = f"Si una noche de invierno un viajero {uuid.uuid4().hex[:6]}"

    book_id, _ = add_book(client, title)
    [added] = mailhog.wait_for(address, 1, timeout=20)
    assert added.to == [address]
    assert added.subject == f"Libro añadido: {title}"
    assert "Lucía Pérez" in added.part("text/plain")
    [event] = events_of(app, address)
    assert (event.status, event.task_id) == ("queued", event.id)
    assert added.message_id == f"<{event.id}@bookshelf>"

    deleted = client.post(f"/books/{book_id}/delete")
    assert deleted.status_code == 302
    emails = mailhog.wait_for(address, 2, timeout=20)
    assert sorted(email.subject for email in emails) == sorted(
        [f"Libro añadido: {title}", f"Libro eliminado: {title}"]
    )
    # The status page's view of both: read from the Celery result backend.
    with app.app_context():
        rows = events_of(app, address)
        assert wait_until(
            lambda: [notifications.delivery_state(r) for r in rows] == ["sent"] * 2, 10
        )
    assert "Enviado" in client.get("/notifications/").get_data(as_text=True)
    # Recorded on the rows: the page no longer needs the backend for them.
    assert [(r.status, r.delivered_at is not None) for r in events_of(app, address)] == [
        ("sent", True)
    ] * 2
    assert len(mailhog.messages_to(address)) == 2


def test_broker_down_still_adds_the_book_quickly_and_keeps_the_event(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    mailhog: MailHogClient,
    address: str,
) -> None:
    down = make_web(closed_broker_url())
    client, _ = logged_in_client(down, address)
    title = "Las ciudades invisibles"

    book_id, elapsed = add_book(client, title)
    assert elapsed < ADD_BOOK_BOUND_S, elapsed
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert "Aún no se pudo poner en cola el correo de confirmación" in page
    with down.app_context():
        assert db.session.get(Book, book_id) is not None
    [event] = events_of(down, address)
    assert event.status == "pending" and event.task_id is None
    assert (event.last_error or "").startswith("broker unavailable: OperationalError")
    with down.app_context():
        assert notifications.delivery_state(event) == "pending"

    # Once the broker is reachable again, the retry button delivers the same event.
    up = make_web(broker.url)
    with client.session_transaction() as session:
        retry_client = client_for(up, session["_user_id"])
    assert retry_client.post(f"/notifications/{event.id}/retry").status_code == 302
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.subject == f"Libro añadido: {title}"
    assert email.message_id == f"<{event.id}@bookshelf>"


def test_relay_queues_what_the_broker_refused_exactly_once(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    mailhog: MailHogClient,
    address: str,
) -> None:
    down = make_web(closed_broker_url())
    client, _ = logged_in_client(down, address)
    title = "El barón rampante"
    add_book(client, title)
    [event] = events_of(down, address)
    assert event.status == "pending"

    up = make_web(broker.url)
    with up.app_context():
        due = db.session.scalars(db.select(EmailEvent.id).filter_by(status="pending")).all()
        assert event.id in due
        first = relay_pending(limit=100, older_than=timedelta(0))
        assert (first.queued, first.still_pending, first.broker_down) == (len(due), 0, False)
        [email] = mailhog.wait_for(address, 1, timeout=20)
        assert email.subject == f"Libro añadido: {title}"
        assert email.message_id == f"<{event.id}@bookshelf>"
        [stored] = events_of(up, address)
        assert (stored.status, stored.task_id) == ("queued", event.id)

        second = relay_pending(limit=100, older_than=timedelta(0))
        assert (second.queued, second.still_pending) == (0, 0)
    # Let a duplicate, had there been one, reach MailHog before counting.
    assert not wait_until(lambda: len(mailhog.messages_to(address)) > 1, 1)
    assert len(mailhog.messages_to(address)) == 1


def test_readyz_reports_the_broker(make_web: MakeWeb, broker: BrokerServer) -> None:
    ready = make_web(broker.url).test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "broker": "ok"}

    started = time.perf_counter()
    down = make_web(closed_broker_url()).test_client().get("/readyz")
    assert time.perf_counter() - started < ADD_BOOK_BOUND_S
    assert down.status_code == 503
    assert down.get_json()["checks"]["broker"].startswith("error:")
    assert down.get_json()["checks"]["database"] == "ok"


def test_relay_resends_an_email_the_broker_lost_exactly_once(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    mailhog: MailHogClient,
    address: str,
    stack_dir: Path,
) -> None:
    """The broker that took the message dies without persistence (the row says
    'queued'); once the row is stale the relay queues it again on the live broker,
    and later records it as sent instead of sending it again."""
    lost = BrokerServer(stack_dir / "lost-broker").start()
    try:
        client, _ = logged_in_client(make_web(lost.url), address)
        add_book(client, "Los detectives salvajes")
    finally:
        lost.stop()
    [event] = events_of(make_web(broker.url), address)
    assert event.status == "queued"

    up = make_web(broker.url)
    stale_after = timedelta(minutes=10)
    with up.app_context():
        backdate(event.id, stale_after + timedelta(minutes=1))
        first = relay_pending(limit=100, older_than=timedelta(0), stale_after=stale_after)
        assert (first.requeued, first.broker_down) == (1, False)
        [email] = mailhog.wait_for(address, 1, timeout=20)
        assert email.message_id == f"<{event.id}@bookshelf>"
        sent = f"outcome=sent event_id={event.id}"
        assert wait_until(lambda: sent in worker.log_path.read_text(), 10)
        # The worker logs before it stores SUCCESS; the relay must read the final state.
        assert wait_until(lambda: task_status(event.id) == "SUCCESS", 10)

        backdate(event.id, stale_after + timedelta(minutes=1))
        second = relay_pending(limit=100, older_than=timedelta(0), stale_after=stale_after)
        assert (second.requeued, second.settled) == (0, 1)
    [stored] = events_of(up, address)
    assert stored.status == "sent"
    assert not wait_until(lambda: len(mailhog.messages_to(address)) > 1, 1)


def task_status(task_id: str) -> str | None:
    return notifications.task_metas([task_id]).get(task_id, {}).get("status")


def backdate(event_id: str, ago: timedelta) -> None:
    db.session.execute(
        update(EmailEvent)
        .where(EmailEvent.id == event_id)
        .values(queued_at=datetime.now(UTC) - ago)
    )
    db.session.commit()
