"""Password reset: the same answer for any address; a single-use link that expires in
an hour; the new password checked by the sign-up rules; one email per interval; and
the link proves the address, so an unverified one becomes verified."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.accounts import links
from devstack.bookshelf_client import unique_email
from services.web.tests.accounts.support import interval_passed, link_path, notices, user_row
from services.web.tests.support import PASSWORD, AuthActions, bearer, events_of

NEW_PASSWORD = "a brand new passphrase"


def test_the_same_answer_for_any_address(app: Flask, auth: AuthActions) -> None:
    account = auth.create_user()
    known = auth.client.post("/auth/reset/", data={"email": account.email})
    unknown = auth.client.post("/auth/reset/", data={"email": unique_email()})
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location == "/auth/inbox"
    assert known.get_data() == unknown.get_data()
    assert len(notices(app, account.id, "password_reset")) == 1


def test_a_reset_link_changes_the_password_once(
    app: Flask, client: FlaskClient, auth: AuthActions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = auth.create_user()
    client.post("/auth/reset/", data={"email": account.email})
    [email] = notices(app, account.id, "password_reset")
    path = link_path(email)
    token = path.rsplit("/", 1)[1]

    assert client.get(path).status_code == 200
    weak = client.post(path, data={"password": "short"})
    assert weak.status_code == 422
    assert client.post(path, data={"password": NEW_PASSWORD}).location == "/auth/login"
    assert auth.login(account.email, PASSWORD).status_code == 422
    assert auth.login(account.email, NEW_PASSWORD).status_code == 302
    assert client.post(path, data={"password": "yet another passphrase"}).status_code == 400
    assert auth.on(app).login(account.email, NEW_PASSWORD).status_code == 302

    # The token is in the email only: not in a log line, the status page or the API.
    assert token not in caplog.text
    assert token not in client.get("/notifications/").get_data(as_text=True)
    api = client.get("/api/v1/emails", headers=bearer(auth.api_token(account)))
    assert token not in api.get_data(as_text=True)
    assert api.get_json()["items"][0]["details"] == {}


def test_one_reset_email_per_interval(app: Flask, auth: AuthActions) -> None:
    account = auth.create_user()
    for _ in range(3):
        auth.client.post("/auth/reset/", data={"email": account.email})
    assert len(notices(app, account.id, "password_reset")) == 1
    interval_passed(app, account.id)
    auth.client.post("/auth/reset/", data={"email": account.email})
    assert len(notices(app, account.id, "password_reset")) == 2


def test_a_reset_link_expires_after_an_hour(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = auth.create_user()
    client.post("/auth/reset/", data={"email": account.email})
    [email] = notices(app, account.id, "password_reset")
    path = link_path(email)
    lifetime = links.LIFETIME[links.Purpose.RESET].total_seconds()
    real_time = __import__("time").time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() + lifetime + 60)
    assert client.post(path, data={"password": NEW_PASSWORD}).status_code == 400
    monkeypatch.undo()
    assert auth.login(account.email, PASSWORD).status_code == 302


def test_a_reset_verifies_the_address_and_releases_its_emails(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.login_as(auth.create_user(verified=False))
    assert (
        client.post("/books/new", data={"title": "Rayuela", "author": "Julio Cortázar"}).status_code
        == 302
    )
    assert [e.hold_reason for e in events_of(app, account.id)] == ["unverified"]
    client.post("/auth/reset/", data={"email": account.email})
    [email] = notices(app, account.id, "password_reset")
    client.post(link_path(email), data={"password": NEW_PASSWORD})
    assert user_row(app, account.id).email_verified_at is not None
    book_email = next(e for e in events_of(app, account.id) if e.kind == "added")
    assert book_email.hold_reason is None and book_email.due_at is not None
