"""Change the password, change the address (the new one verified before it replaces
the old; the old one told), delete the account (books, token, outbox rows gone): each
needs the current password."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent
from devstack.bookshelf_client import unique_email
from services.web.tests.accounts.support import link_path, notices, user_row
from services.web.tests.support import PASSWORD, Account, AuthActions, books_of, user_by_email

NEW_PASSWORD = "a brand new passphrase"


def test_change_password_needs_the_current_one(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.new_user()
    wrong = client.post(
        "/auth/account/password",
        data={"current_password": "not it at all", "password": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and "Contraseña incorrecta." in wrong.get_data(as_text=True)
    weak = client.post(
        "/auth/account/password", data={"current_password": PASSWORD, "password": "short"}
    )
    assert weak.status_code == 422
    assert auth.on(app).login(account.email, PASSWORD).status_code == 302
    done = client.post(
        "/auth/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD}
    )
    assert done.location == "/auth/account"
    assert auth.on(app).login(account.email, PASSWORD).status_code == 422
    assert auth.on(app).login(account.email, NEW_PASSWORD).status_code == 302


def test_a_new_address_replaces_the_old_only_once_verified_and_the_old_is_told(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Right after the sign-up's own verification too: that link's interval is over."""
    email = unique_email()
    auth.register(email=email)
    [verify] = notices(app, user_id_of(app, email), "verify_address")
    client.post(link_path(verify))
    account = Account(user_id_of(app, email), "Ana", email)
    auth.login(email)
    new = unique_email("moved")
    asked = client.post(
        "/auth/account/email", data={"email": new.upper(), "current_password": PASSWORD}
    )
    assert asked.location == "/auth/account"
    assert user_row(app, account.id).email == account.email  # not yet
    [confirm] = notices(app, account.id, "confirm_new_address")
    assert confirm.payload["user_email"] == new
    assert client.get(link_path(confirm)).status_code == 200
    assert client.post(link_path(confirm)).status_code == 302

    moved = user_row(app, account.id)
    assert (moved.email, moved.pending_email) == (new, None)
    assert moved.email_verified_at is not None
    [told] = notices(app, account.id, "address_changed")
    assert told.payload["user_email"] == account.email
    assert told.payload["details"] == {"new_address": new}
    assert client.post(link_path(confirm)).status_code == 400  # used
    assert auth.on(app).login(new).status_code == 302


def user_id_of(app: Flask, email: str) -> int:
    user = user_by_email(app, email)
    assert user is not None
    return user.id


def test_a_taken_address_gets_the_same_answer_and_its_owner_is_told(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    other = auth.create_user()
    account = auth.new_user()
    asked = client.post(
        "/auth/account/email", data={"email": other.email, "current_password": PASSWORD}
    )
    assert asked.location == "/auth/account"
    assert notices(app, account.id, "confirm_new_address") == []
    assert user_row(app, account.id).pending_email is None
    assert len(notices(app, other.id, "address_taken")) == 1


def test_changing_the_address_needs_the_password(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.new_user()
    refused = client.post(
        "/auth/account/email", data={"email": unique_email(), "current_password": "nope nope"}
    )
    assert refused.status_code == 422
    assert notices(app, account.id, "confirm_new_address") == []


def test_deleting_the_account_takes_everything_of_it(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.new_user()
    token = auth.api_token(account)
    for title in ("Rayuela", "Ficciones"):
        client.post("/books/new", data={"title": title, "author": "X"})
    assert len(books_of(app, account.id)) == 2
    wrong = client.post("/auth/account/delete", data={"current_password": "nope nope"})
    assert wrong.status_code == 422 and user_row(app, account.id) is not None

    done = client.post("/auth/account/delete", data={"current_password": PASSWORD})
    assert done.location == "/auth/login"
    assert user_by_email(app, account.email) is None
    assert books_of(app, account.id) == []
    with app.app_context():
        rows = db.session.scalar(
            select(func.count()).select_from(EmailEvent).where(EmailEvent.owner_id == account.id)
        )
    assert rows == 0
    assert client.get("/books/new").status_code == 302  # logged out
    assert (
        client.get("/api/v1/books", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert auth.on(app).login(account.email).status_code == 422


def test_a_second_change_within_the_interval_says_when_to_ask_again(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.new_user()
    data = {"email": unique_email(), "current_password": PASSWORD}
    client.post("/auth/account/email", data=data)
    again = client.post(
        "/auth/account/email", data={**data, "email": unique_email()}, follow_redirects=True
    )
    assert "Podrás pedir otro dentro de 5 minutos" in again.get_data(as_text=True)
    assert len(notices(app, account.id, "confirm_new_address")) == 1
