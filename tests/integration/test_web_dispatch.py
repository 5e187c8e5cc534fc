"""No mocks: the web app (test client, real Postgres migrated with Flask-Migrate) ->
broker -> `celery worker` process -> MailHog; the same web app with its broker down;
and the outbox relay that publishes what the request could not. States are the outbox
rows', as the status page shows them."""

from __future__ import annotations

import time
import uuid

import pytest
from flask.testing import FlaskClient

from devstack.broker import BrokerServer
from devstack.mailhog import MailHogClient
from devstack.worker import CeleryWorker
from tests.integration.support import (
    MakeWeb,
    Outbox,
    client_for,
    closed_broker_url,
    emails_per_event,
    logged_in_client,
    message_id,
    relay_pass,
)

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


def test_add_then_delete_sends_one_email_each(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: MailHogClient,
    address: str,
) -> None:
    client, user_id = logged_in_client(make_web(broker.url), address)
    title = f"Si una noche de invierno un viajero {uuid.uuid4().hex[:6]}"

    book_id, _ = add_book(client, title)
    [added_email] = mailhog.wait_for(address, 1, timeout=20)
    assert added_email.to == [address]
    assert added_email.subject == f"Libro añadido: {title}"
    assert "Lucía Pérez" in added_email.part("text/plain")
    [added] = outbox.owned_by(user_id)
    assert added["kind"] == "added"
    assert added_email.message_id == message_id(added["id"])

    assert client.post(f"/books/{book_id}/delete").status_code == 302
    emails = mailhog.wait_for(address, 2, timeout=20)
    assert sorted(email.subject for email in emails) == sorted(
        [f"Libro añadido: {title}", f"Libro eliminado: {title}"]
    )
    rows = outbox.owned_by(user_id)
    assert [row["kind"] for row in rows] == ["added", "deleted"]
    ids = [row["id"] for row in rows]
    settled = outbox.wait_for(ids, "sent", timeout=10)
    assert [settled[i]["attempts"] for i in ids] == [1, 1]
    assert all(settled[i]["delivered_at"] is not None for i in ids)
    # The status page reads the same rows.
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count("Enviado") == 2
    assert emails_per_event(mailhog, address) == {message_id(i): 1 for i in ids}


def test_broker_down_still_adds_the_book_quickly_and_keeps_the_event(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: MailHogClient,
    address: str,
) -> None:
    client, user_id = logged_in_client(make_web(closed_broker_url()), address)
    title = "Las ciudades invisibles"

    book_id, elapsed = add_book(client, title)
    assert elapsed < ADD_BOOK_BOUND_S, elapsed
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert "Aún no se pudo poner en cola el correo de confirmación" in page
    assert title in page  # the book was kept
    [event] = outbox.owned_by(user_id)
    assert (event["status"], event["attempts"], event["publications"]) == ("pending", 0, 0)
    assert (event["last_error"] or "").startswith("broker unavailable: OperationalError")

    # Once the broker is reachable again, the page's Retry sends the same event.
    retry = client_for(make_web(broker.url), user_id)
    assert retry.post(f"/notifications/{event['id']}/retry").status_code == 302
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.subject == f"Libro añadido: {title}"
    assert email.message_id == message_id(event["id"])
    row = outbox.wait_for([event["id"]], "sent", timeout=10)[event["id"]]
    assert (row["attempts"], row["last_error"]) == (1, None)
    assert emails_per_event(mailhog, address) == {message_id(event["id"]): 1}


def test_relay_publishes_what_the_broker_refused_exactly_once(
    make_web: MakeWeb,
    broker: BrokerServer,
    worker: CeleryWorker,
    outbox: Outbox,
    mailhog: MailHogClient,
    address: str,
) -> None:
    client, user_id = logged_in_client(make_web(closed_broker_url()), address)
    title = "El barón rampante"
    add_book(client, title)
    [event] = outbox.owned_by(user_id)
    assert event["status"] == "pending"

    up = make_web(broker.url)
    # Within its grace the row is the request's: the relay leaves it alone.
    assert relay_pass(up).published == 0
    assert outbox.row(event["id"])["status"] == "pending"

    assert outbox.force_due([event["id"]]) == 1  # the grace ran out
    first = relay_pass(up)
    assert (first.published, first.still_due, first.broker_down) == (1, 0, False)
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.subject == f"Libro añadido: {title}"
    assert email.message_id == message_id(event["id"])
    row = outbox.wait_for([event["id"]], "sent", timeout=10)[event["id"]]
    assert (row["attempts"], row["publications"]) == (1, 1)

    # A sent row is never due again, even if a clock says so.
    assert outbox.force_due([event["id"]]) == 1
    second = relay_pass(up)
    assert (second.published, second.still_due) == (0, 0)
    assert outbox.row(event["id"])["status"] == "sent"
    assert emails_per_event(mailhog, address) == {message_id(event["id"]): 1}


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
