"""Sessions end for real (accounts/sessions.py): a cookie copied before a log-out is
refused after it, "log out everywhere" ends every browser's session, a password change
can end the others, and the CSRF secret changes at log-in."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.accounts import sessions
from bookshelf.accounts.models import User
from bookshelf.extensions import db
from services.web.tests.support import PASSWORD, AuthActions, MakeApp, bearer

BOOK = {"title": "Dune", "author": "Frank Herbert"}


def logged_in_client(app: Flask, email: str) -> FlaskClient:
    """A new browser that logged in through the form."""
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same session cookie, copied as it is now."""
    copy = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    return copy


def test_a_cookie_copied_before_logout_is_refused_after_it(app: Flask, auth: AuthActions) -> None:
    account = auth.create_user()
    browser = logged_in_client(app, account.email)
    stolen = copy_of(app, browser)
    assert stolen.get("/").status_code == 200
    assert stolen.get("/api/v1/books").status_code == 200
    browser.post("/auth/logout")
    assert stolen.get("/").status_code == 302  # to the log-in page
    assert stolen.get("/api/v1/books").status_code == 401
    assert stolen.post("/api/v1/books", json=BOOK).status_code == 401


def test_logout_everywhere_ends_every_session_of_the_user_only(
    app: Flask, auth: AuthActions
) -> None:
    account, other = auth.create_user(), auth.create_user()
    phone, laptop = logged_in_client(app, account.email), logged_in_client(app, account.email)
    someone_else = logged_in_client(app, other.email)
    assert "Cerrar sesión en todas partes" in phone.get("/auth/account").get_data(as_text=True)
    response = phone.post("/auth/logout/everywhere")
    assert response.status_code == 302 and response.location == "/auth/login"
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 302
    assert someone_else.get("/").status_code == 200


def test_end_other_sessions_keeps_only_the_current_one(app: Flask, auth: AuthActions) -> None:
    """What a password change calls: every other browser is logged out, this one is not."""
    account = auth.create_user()
    here, elsewhere = logged_in_client(app, account.email), logged_in_client(app, account.email)
    with here.session_transaction() as cookie:
        secret = cookie[sessions.SESSION_KEY]
    with app.test_request_context():
        from flask import session

        session[sessions.SESSION_KEY] = secret
        user = db.session.get(User, account.id)
        assert user is not None
        assert sessions.end_other_sessions(user) == 1
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_a_session_without_its_row_is_not_logged_in(client: FlaskClient, auth: AuthActions) -> None:
    """Flask-Login's own key alone (a cookie from before server-side sessions) is not enough."""
    account = auth.create_user()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(account.id)
    assert client.get("/").status_code == 302


def test_the_csrf_secret_changes_at_login(make_app: MakeApp, auth: AuthActions) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    account = auth.on(app).create_user()
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    with client.session_transaction() as cookie:
        before = cookie["csrf_token"]
    response = client.post(
        "/auth/login", data={"email": account.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    client.get("/auth/account")  # a page with a form: the session gets its new secret
    with client.session_transaction() as cookie:
        assert cookie["csrf_token"] != before
    # A token minted for the old secret no longer passes.
    stale = client.post("/auth/account/token", data={"csrf_token": token})
    assert stale.status_code == 400


def test_token_dates_and_revocation(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    account = auth.new_user()
    client.post("/auth/account/token")
    page = client.get("/auth/account").get_data(as_text=True)
    token = page.split('id="api-token" type="text" readonly value="')[1].split('"')[0]
    assert 'id="token-created"' in page
    assert page.split('id="token-last-used">')[1].startswith("nunca")
    api = app.test_client()
    assert api.get("/api/v1/books", headers=bearer(token)).status_code == 200
    page = client.get("/auth/account").get_data(as_text=True)
    assert not page.split('id="token-last-used">')[1].startswith("nunca")
    with app.app_context():
        user = db.session.get(User, account.id)
        assert user is not None and user.api_token_created_at and user.api_token_last_used_at
    assert client.post("/auth/account/token/revoke").status_code == 302
    assert api.get("/api/v1/books", headers=bearer(token)).status_code == 401
    assert "Todavía no tienes ningún token." in client.get("/auth/account").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/auth/account", "/auth/login", "/api/v1/books"])
def test_dynamic_pages_and_api_answers_are_not_stored(
    client: FlaskClient, auth: AuthActions, path: str
) -> None:
    auth.new_user()
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_api_errors_are_not_stored_either(client: FlaskClient) -> None:
    assert client.get("/api/v1/books").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/openapi.yaml").headers["Cache-Control"] == "no-store"


def test_a_session_ends_by_itself_after_its_lifetime(app: Flask, auth: AuthActions) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bookshelf.accounts.models import LoginSession

    account = auth.create_user()
    browser = logged_in_client(app, account.email)
    assert browser.get("/").status_code == 200
    with app.app_context():
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == account.id)
            .values(created_at=datetime.now(UTC) - sessions.SESSION_LIFETIME)
        )
        db.session.commit()
    assert browser.get("/").status_code == 302
    logged_in_client(app, account.email)  # a new log-in clears the expired row
    with app.app_context():
        rows = db.session.scalars(
            select(LoginSession).where(LoginSession.user_id == account.id)
        ).all()
        assert len(rows) == 1
