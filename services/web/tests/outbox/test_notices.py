"""Emails that are not about a book, through the same outbox: recorded with their
change, published by the relay under their kind's task name, shown on the status page
and the API by a summary of their own (never their secret link); and held emails, which
wait (pending, no due time) until released, without "Retry"."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.outbox import record
from bookshelf.outbox.relay import relay_due
from bookshelf_tasks import PayloadError, delivery
from bookshelf_tasks.delivery import HoldReason
from services.web.tests.outbox.support import EmailQueue, row
from services.web.tests.support import Account, AuthActions, bearer, events_of, spec_validator

pytestmark = pytest.mark.usefixtures("no_rows")
LINK = "https://bookshelf.test/auth/verify/SECRET-TOKEN-123"


def notice_for(account: Account, hold: HoldReason | None = None, link: str = LINK) -> str:
    """A verify_address notice of `account`, committed as a request commits it."""
    user = db.session.get(User, account.id)
    assert user is not None
    event = record.record_notice(user, "verify_address", {"link": link}, hold=hold)
    db.session.commit()
    event_id = event.id
    db.session.remove()
    return event_id


def test_a_notice_is_published_under_its_kinds_task_name(
    ctx: Flask, user: Account, queue: EmailQueue
) -> None:
    event_id = notice_for(user)
    assert row(event_id).status == "pending"
    assert relay_due().published == 1
    [headers] = queue.headers()
    assert (headers["id"], headers["task"]) == (event_id, "bookshelf.email.verify_address")
    assert row(event_id).status == "queued"


def test_an_invalid_notice_writes_nothing(ctx: Flask, user: Account) -> None:
    with pytest.raises(PayloadError):
        notice_for(user, link="javascript:alert(1)")
    db.session.rollback()
    assert events_of(ctx, user.id) == []


def test_a_held_email_waits_until_released(ctx: Flask, user: Account, queue: EmailQueue) -> None:
    event_id = notice_for(user, hold=HoldReason.UNVERIFIED)
    held = row(event_id)
    assert (held.status, held.due_in) == ("pending", None)
    assert relay_due().published == 0 and queue.length() == 0

    with db.engine.begin() as connection:
        assert delivery.release_holds(connection, user.id, HoldReason.UNVERIFIED) == 1
    assert relay_due().published == 1
    assert queue.event_ids() == [event_id]


@pytest.mark.parametrize(
    ("locale", "summary", "waiting"),
    [
        ("es", "Enlace de verificación para", "En espera: verifica tu dirección de correo"),
        ("en", "Verification link for", "Waiting: verify your email address"),
    ],
)
def test_the_status_page_shows_what_the_email_is_about_and_why_it_waits(
    app: Flask, auth: AuthActions, client: FlaskClient, locale: str, summary: str, waiting: str
) -> None:
    account = auth.new_user(locale=locale)
    with app.app_context():
        sent_later = notice_for(account, hold=HoldReason.UNVERIFIED)
        on_its_way = notice_for(account)
    page = client.get("/notifications/").get_data(as_text=True)

    held_row = row_html(page, sent_later)
    assert f"{summary} {account.email}" in held_row
    assert waiting in held_row
    assert "<button" not in held_row  # not the user's to release
    assert f"{summary} {account.email}" in row_html(page, on_its_way)
    assert "SECRET-TOKEN" not in page
    assert ("Verificar tu dirección" if locale == "es" else "Verify your address") in page


def test_a_page_with_only_held_emails_does_not_reload(
    app: Flask, auth: AuthActions, client: FlaskClient
) -> None:
    account = auth.new_user()
    with app.app_context():
        notice_for(account, hold=HoldReason.UNVERIFIED)
    assert 'http-equiv="refresh"' not in client.get("/notifications/").get_data(as_text=True)


def test_the_api_shows_no_book_no_secret_and_the_hold(
    app: Flask, auth: AuthActions, client: FlaskClient
) -> None:
    account = auth.create_user()
    token = auth.api_token(account)
    with app.app_context():
        event_id = notice_for(account, hold=HoldReason.UNVERIFIED)
    response = client.get(f"/api/v1/emails/{event_id}", headers=bearer(token))
    body = response.get_json()
    spec_validator("EmailEvent").validate(body)
    assert (body["kind"], body["book"], body["details"]) == ("verify_address", None, {})
    assert body["hold_reason"] == "unverified"
    listing = client.get("/api/v1/emails", headers=bearer(token)).get_data(as_text=True)
    assert "SECRET-TOKEN" not in response.get_data(as_text=True) + listing
    resent = client.post(f"/api/v1/emails/{event_id}/resend", headers=bearer(token))
    assert resent.status_code == 409
    with app.app_context():
        assert row(event_id).due_in is None


def row_html(page: str, event_id: str) -> str:
    match = re.search(rf'<tr id="event-{event_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {event_id}"
    return " ".join(match.group(1).split())
