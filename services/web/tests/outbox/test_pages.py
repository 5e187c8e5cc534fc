"""/notifications: one row per email with its book, kind, time and a human state in
both languages ('uncertain' with its own wording and "Send again"), and the retry POST,
which resends failed and uncertain emails and refuses those sent or on their way."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.library.book_input import BookInput
from bookshelf_tasks.delivery import EmailStatus
from services.web.tests.outbox.support import (
    EmailQueue,
    add_events,
    corrupt_payload,
    put_in_state,
    row,
)
from services.web.tests.support import Account, AuthActions

REFRESH = re.compile(r'id="auto-reload" data-reload-after="(\d+)"\s+data-reload-url="([^"]+)"')

# (state, Spanish label, English label, button: None, or its (Spanish, English) text)
CASES = [
    ("pending", "Aún sin poner en cola — se reintentará automáticamente",
     "Not queued yet — will retry automatically", ("Reintentar", "Retry")),
    ("queued", "En cola, esperando su envío", "Queued, waiting to be sent", None),
    ("sending", "Enviándose", "Sending", None),
    ("retrying", "El servidor de correo no respondió; reintentando",
     "The mail server did not answer; retrying", None),
    ("sent", "Enviado", "Sent", None),
    ("failed", "Falló", "Failed", ("Reintentar", "Retry")),
    ("uncertain",
     "Puede que no haya llegado: se perdió la conexión con el servidor de correo mientras se "
     "enviaba",
     "May not have arrived: the connection to the mail server was lost while it was being "
     "sent",
     ("Enviar de nuevo", "Send again")),
]  # fmt: skip


def row_of(page: str, event_id: str) -> str:
    match = re.search(rf'<tr id="event-{event_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {event_id}"
    return " ".join(match.group(1).split())


def events_in(app: Flask, owner_id: int, states: list[EmailStatus]) -> list[str]:
    """One event per state, each with its own book title ("Libro <state>")."""
    ids = []
    with app.app_context():
        for state in states:
            book = BookInput(f"Libro {state.value}", "Autora", None, None, None)
            [event_id] = add_events(owner_id, book=book)
            in_flight = state.in_flight
            put_in_state(
                event_id,
                state,
                due_in=30 if in_flight else None,
                attempts=0 if state in {EmailStatus.PENDING, EmailStatus.QUEUED} else 1,
                data_sent=state in {EmailStatus.SENT, EmailStatus.UNCERTAIN},
                last_error={
                    EmailStatus.FAILED: "550 no such user",
                    EmailStatus.UNCERTAIN: "connection lost after DATA",
                }.get(state),
            )
            ids.append(event_id)
    return ids


def client_of(app: Flask, auth: AuthActions, account: Account) -> FlaskClient:
    """Another browser, logged in as `account`."""
    client = app.test_client()
    AuthActions(app, client, auth.password_hash).login_as(account)
    return client


def only_state(app: Flask, owner_id: int, state: EmailStatus) -> str:
    [event_id] = events_in(app, owner_id, [state])
    return event_id


def stored(app: Flask, event_id: str) -> tuple[str, int]:
    with app.app_context():
        found = row(event_id)
    return found.status, found.attempts - found.retry_budget_start  # since the last resend


@pytest.mark.parametrize("locale", ["es", "en"])
def test_each_row_shows_book_kind_time_and_a_human_state(
    app: Flask, client: FlaskClient, auth: AuthActions, locale: str
) -> None:
    account = auth.new_user(locale=locale)
    ids = dict(
        zip(
            [state for state, *_ in CASES],
            events_in(app, account.id, [EmailStatus(state) for state, *_ in CASES]),
            strict=True,
        )
    )
    page = client.get("/notifications/").get_data(as_text=True)
    for state, spanish, english, button in CASES:
        shown = row_of(page, ids[state])
        assert f"Libro {state}" in shown
        assert ("Libro añadido" if locale == "es" else "Book added") in shown
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+</time>', shown)
        assert f"state-{state}" in shown
        assert (spanish if locale == "es" else english) in shown, shown
        if button is None:
            assert "<button" not in shown, f"{state} offers a button"
        else:
            label = button[0] if locale == "es" else button[1]
            assert re.search(rf"<button[^>]*>{label}</button>", shown), shown
            assert f'action="/notifications/{ids[state]}/retry"' in shown
    refused = (
        "El servidor de correo rechazó este correo"
        if locale == "es"
        else "The mail server refused this email"
    )
    lost = (
        "Se perdió la conexión con el servidor de correo mientras se enviaba el correo."
        if locale == "es"
        else "The connection to the mail server was lost while the email was being sent."
    )
    server_said = '<code lang="en">{}</code>'  # the server's own words, as a detail
    assert refused in row_of(page, ids["failed"])
    assert server_said.format("550 no such user") in row_of(page, ids["failed"])
    assert lost in row_of(page, ids["uncertain"])
    assert server_said.format("connection lost after DATA") in row_of(page, ids["uncertain"])
    retry = "Reintentar" if locale == "es" else "Retry"
    assert retry not in row_of(page, ids["uncertain"])  # its own wording, not "Retry"


def test_only_my_emails_are_listed(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    stranger = auth.new_user()
    client.post("/books/new", data={"title": "Libro ajeno", "author": "X"})
    auth.new_user()
    assert "Aún no hay correos." in client.get("/notifications/").get_data(as_text=True)
    client.post("/books/new", data={"title": "Dune", "author": "FH"})
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Dune" in page and "Libro añadido" in page
    assert "Libro ajeno" not in page
    stranger_page = client_of(app, auth, stranger).get("/notifications/").get_data(as_text=True)
    assert "Libro ajeno" in stranger_page and "Dune" not in stranger_page


def test_the_page_refreshes_itself_only_while_an_email_is_on_its_way(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.new_user()
    events_in(app, account.id, [EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.UNCERTAIN])
    assert not REFRESH.search(client.get("/notifications/").get_data(as_text=True))
    events_in(app, account.id, [EmailStatus.SENDING])
    refresh = REFRESH.search(client.get("/notifications/").get_data(as_text=True))
    assert refresh is not None
    assert refresh.groups() == ("5", "/notifications/?reloads=1")
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'src="/static/emails-reload.js"' in page
    assert 'http-equiv="refresh"' not in page  # WCAG 2.2.1: no timed meta refresh


def test_the_self_reload_backs_off_then_stops_with_a_reload_button(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A long outage: each reload comes later than the one before, then none."""
    account = auth.new_user(locale="en")
    events_in(app, account.id, [EmailStatus.PENDING])
    delays, url = [], "/notifications/"
    for _reload in range(50):
        page = client.get(url).get_data(as_text=True)
        refresh = REFRESH.search(page)
        if refresh is None:
            break
        delays.append(int(refresh.group(1)))
        url = refresh.group(2)
    assert 5 <= len(delays) < 50
    assert delays == sorted(delays) and delays[0] == 5 and delays[-1] > delays[0]
    assert "This page stopped reloading itself." in page
    assert '<a class="button small" href="/notifications/">Reload</a>' in page


@pytest.mark.parametrize("state", [EmailStatus.FAILED, EmailStatus.UNCERTAIN])
def test_retry_resends_a_failed_or_uncertain_email_with_a_fresh_budget(
    app: Flask, client: FlaskClient, auth: AuthActions, queue: EmailQueue, state: EmailStatus
) -> None:
    account = auth.new_user()
    event_id = only_state(app, account.id, state)
    response = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "El correo de confirmación se puso en cola." in response.get_data(as_text=True)
    assert stored(app, event_id) == ("queued", 0)
    assert queue.event_ids() == [event_id]


@pytest.mark.parametrize("state", [EmailStatus.SENT, EmailStatus.QUEUED, EmailStatus.SENDING])
def test_retry_refuses_an_email_sent_or_on_its_way(
    app: Flask, client: FlaskClient, auth: AuthActions, queue: EmailQueue, state: EmailStatus
) -> None:
    account = auth.new_user(locale="en")
    event_id = only_state(app, account.id, state)
    before = stored(app, event_id)
    page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert "That email is already on its way or was sent." in page.get_data(as_text=True)
    assert stored(app, event_id) == before
    assert queue.length() == 0


def test_the_refusal_is_translated(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    account = auth.new_user()
    event_id = only_state(app, account.id, EmailStatus.SENT)
    page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert "Ese correo ya está en camino o ya se envió." in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("locale", "message"),
    [("es", "El correo de confirmación no se puede enviar."),
     ("en", "The confirmation email cannot be sent.")],
)  # fmt: skip
def test_retry_of_an_email_that_cannot_be_built_says_so(
    app: Flask, client: FlaskClient, auth: AuthActions, locale: str, message: str
) -> None:
    account = auth.new_user(locale=locale)
    event_id = only_state(app, account.id, EmailStatus.FAILED)
    with app.app_context():
        corrupt_payload(event_id)
    page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert message in page.get_data(as_text=True)
    assert stored(app, event_id)[0] == "failed"


def test_retry_with_the_broker_down_says_it_will_be_retried(
    down_app: Flask, password_hash: str
) -> None:
    client = down_app.test_client()
    account = AuthActions(down_app, client, password_hash).new_user()
    event_id = only_state(down_app, account.id, EmailStatus.FAILED)
    page = client.post(f"/notifications/{event_id}/retry", follow_redirects=True)
    assert "se reintentará automáticamente." in page.get_data(as_text=True)
    assert stored(down_app, event_id) == ("pending", 0)


def test_retry_of_another_users_email_is_404(
    app: Flask, client: FlaskClient, auth: AuthActions, queue: EmailQueue
) -> None:
    owner = auth.new_user()
    event_id = only_state(app, owner.id, EmailStatus.FAILED)
    auth.new_user(name="Mallory")
    assert client.post(f"/notifications/{event_id}/retry").status_code == 404
    assert client.post("/notifications/not-a-uuid/retry").status_code == 404
    assert client.post("/notifications/%00/retry").status_code == 404  # not a psycopg2 error
    assert stored(app, event_id)[0] == "failed" and queue.length() == 0


# --- The pages that lead here ---------------------------------------------------------


def test_the_add_is_announced_with_a_link_even_with_the_broker_down(
    down_app: Flask, password_hash: str
) -> None:
    client = down_app.test_client()
    AuthActions(down_app, client, password_hash).new_user(locale="en")
    page = client.post("/books/new", data={"title": "Dune", "author": "FH"}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "“<bdi>Dune</bdi>” was added to your library." in text
    assert '<a href="/notifications/">Follow its confirmation email</a>' in text
    assert "could not be queued" not in text  # the request never touches the broker


def test_the_announcement_escapes_the_title(
    app: Flask, client: FlaskClient, auth: AuthActions, queue: EmailQueue
) -> None:
    auth.new_user()
    location = client.post("/books/new", data={"title": "Dune & <b>", "author": "FH"}).location
    flashed = client.get(location).get_data(as_text=True)
    assert "«<bdi>Dune &amp; &lt;b&gt;</bdi>» se añadió a tu biblioteca." in flashed  # escaped
    assert '<a href="/notifications/">Seguir su correo de confirmación</a>' in flashed


def test_deleted_books_are_labelled_as_such(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.new_user(locale="en")
    book_url = client.post("/books/new", data={"title": "Borrowed", "author": "X"}).location
    client.post(f"{book_url}/delete")
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count('<td data-label="About"><bdi>Borrowed</bdi></td>') == 2
    assert "Book added" in page and "Book deleted" in page


def test_the_books_list_links_to_the_emails(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.new_user(locale="en")
    client.post("/books/new", data={"title": "Dune", "author": "FH"})
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/notifications/">Confirmation emails</a>' in page
