"""No mocks: the web app (test client, real Postgres migrated with Flask-Migrate) ->
its outbox row -> the outbox relay (a real process, woken at commit) -> broker ->
`celery worker` process -> MailHog. The request never touches the broker: with the
broker down the add is as quick as ever, and the relay publishes the row once the
broker answers. States are the outbox rows', as the status page shows them."""

from __future__ import annotations

import time
import uuid

import pytest
from flask.testing import FlaskClient

from devstack.broker import BrokerServer
from devstack.mailbox import Mailbox
from devstack.worker import CeleryWorker
from tests.integration.outbox_relay import OutboxRelay
from tests.integration.support import (
    MakeWeb,
    Outbox,
    add_books,
    closed_broker_url,
    emails_per_event,
    logged_in_client,
    message_id,
    new_user,
    relay_pass,
)

pytestmark = pytest.mark.integration

# Not a speed target (those are bench/'s): a request that waited on the dead broker
# (a connect timeout, a retry loop) would take far longer than this on any machine.
ADD_BOOK_BOUND_S = 10.0


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
    relay: OutboxRelay,
    outbox: Outbox,
    mailhog: Mailbox,
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
    # One publication by the relay, one claim by the worker, for each.
    assert [(settled[i]["publications"], settled[i]["attempts"]) for i in ids] == [(1, 1)] * 2
    assert all(settled[i]["delivered_at"] is not None for i in ids)
    # The status page reads the same rows.
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count("Enviado") == 2
    assert emails_per_event(mailhog, address) == {message_id(i): 1 for i in ids}


def test_broker_down_still_adds_the_book_quickly_and_keeps_the_event(
    make_web: MakeWeb,
    own_outbox: Outbox,
    own_broker: BrokerServer,
    own_worker: CeleryWorker,
    mailhog: Mailbox,
    address: str,
) -> None:
    """On a database of its own, where no relay process runs: the passes are the test's."""
    down = make_web(closed_broker_url(), own_outbox.url)
    client, user_id = logged_in_client(down, address)
    title = "Las ciudades invisibles"

    book_id, elapsed = add_book(client, title)
    assert elapsed < ADD_BOOK_BOUND_S, elapsed
    page = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert f"«<bdi>{title}</bdi>» se añadió a tu biblioteca." in page  # the book was kept
    assert "en cola" not in page.lower()  # neither queued nor not: the request cannot know
    [event] = own_outbox.owned_by(user_id)
    assert (event["status"], event["attempts"], event["publications"]) == ("pending", 0, 0)
    assert event["last_error"] is None

    refused = relay_pass(down)
    assert (refused.published, refused.still_due, refused.broker_down) == (0, 1, True)
    row = own_outbox.row(event["id"])
    assert (row["status"], row["publications"]) == ("pending", 0)
    assert (row["last_error"] or "").startswith("broker unavailable: "), row["last_error"]

    # Once the broker is reachable, the next pass publishes the same event.
    relayed = relay_pass(make_web(own_broker.url, own_outbox.url))
    assert (relayed.published, relayed.still_due, relayed.broker_down) == (1, 0, False)
    [email] = mailhog.wait_for(address, 1, timeout=20)
    assert email.subject == f"Libro añadido: {title}"
    assert email.message_id == message_id(event["id"])
    row = own_outbox.wait_for([event["id"]], "sent", timeout=10)[event["id"]]
    assert (row["attempts"], row["publications"], row["last_error"]) == (1, 1, None)
    assert emails_per_event(mailhog, address) == {message_id(event["id"]): 1}


def test_relay_publishes_what_the_broker_refused_exactly_once(
    make_web: MakeWeb,
    own_outbox: Outbox,
    own_broker: BrokerServer,
    own_worker: CeleryWorker,
    mailhog: Mailbox,
    address: str,
) -> None:
    """On a database of its own, so that each pass's counts are this test's rows."""
    down = make_web(closed_broker_url(), own_outbox.url)
    titles = ["El barón rampante", "El vizconde demediado", "El caballero inexistente"]
    ids = add_books(down, new_user(down, address), titles, published=False)

    # The broker refuses the first row; the pass stops there, the rest would fail alike.
    refused = relay_pass(down)
    assert (refused.published, refused.still_due, refused.broker_down) == (0, 3, True)
    rows = own_outbox.rows(ids)
    assert {(row["status"], row["publications"]) for row in rows.values()} == {("pending", 0)}

    up = make_web(own_broker.url, own_outbox.url)
    first = relay_pass(up)
    assert (first.published, first.still_due, first.broker_down) == (3, 0, False)
    # Published rows wait for a worker, with a lease: the next pass leaves them alone.
    again = relay_pass(up)
    assert (again.published, again.still_due) == (0, 0)
    sent = own_outbox.wait_for(ids, "sent", timeout=20)
    assert {(row["attempts"], row["publications"]) for row in sent.values()} == {(1, 1)}

    # A sent row is never due again, even if a clock says so.
    assert own_outbox.force_due(ids) == 3
    last = relay_pass(up)
    assert (last.published, last.still_due) == (0, 0)
    assert {row["status"] for row in own_outbox.rows(ids).values()} == {"sent"}
    mailhog.wait_for(address, 3, timeout=20)
    assert emails_per_event(mailhog, address) == {message_id(i): 1 for i in ids}


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
