"""Verified addresses: book emails of an unverified account are saved but held; the
signed link (a page, then a POST) verifies the address once and releases them; an
expired, forged or used link is a 400; "send it again" once per interval."""

from __future__ import annotations

import time

import itsdangerous
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.accounts import links
from bookshelf.extensions import db
from services.web.tests.accounts.support import interval_passed, link_path, notices, user_row
from services.web.tests.support import AuthActions, books_of, events_of, user_by_email

BOOK = {"title": "Rayuela", "author": "Julio Cortázar"}


def signed_up(auth: AuthActions, app: Flask) -> tuple[int, str]:
    """A user signed up through the form and logged in; its id and verification path."""
    account = auth.create_user(verified=False)
    auth.login_as(account)
    with app.test_request_context():
        user = db.session.get(links.User, account.id)
        assert user is not None
        token = links.make_token(links.Purpose.VERIFY, user)
    return account.id, f"/auth/verify/{token}"


def test_book_emails_wait_for_the_verification_and_then_go_in_one_release(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user_id, path = signed_up(auth, app)
    for title in ("Rayuela", "Ficciones"):
        assert client.post("/books/new", data={**BOOK, "title": title}).status_code == 302
    assert len(books_of(app, user_id)) == 2  # the books are saved
    held = events_of(app, user_id)
    assert [(e.status, e.hold_reason, e.due_at) for e in held] == [
        ("pending", "unverified", None)
    ] * 2
    assert "En espera: verifica tu dirección" in client.get("/notifications/").get_data(
        as_text=True
    )

    page = client.get(path)
    assert page.status_code == 200 and "Confirmar mi dirección" in page.get_data(as_text=True)
    assert user_row(app, user_id).email_verified_at is None  # opening the link is not enough
    assert client.post(path).status_code == 302
    assert user_row(app, user_id).email_verified_at is not None
    released = events_of(app, user_id)
    assert [(e.status, e.hold_reason) for e in released] == [("pending", None)] * 2
    assert all(e.due_at is not None for e in released)
    assert client.post("/books/new", data=BOOK).status_code == 302
    assert [e.hold_reason for e in events_of(app, user_id)] == [None] * 3


def test_a_used_link_is_refused(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    _user_id, path = signed_up(auth, app)
    assert client.post(path).status_code == 302
    again = client.post(path)
    assert again.status_code == 400
    assert "no es válido o ya se usó" in again.get_data(as_text=True)


def test_an_expired_link_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    lifetime = links.LIFETIME[links.Purpose.VERIFY].total_seconds()
    then = time.time() - lifetime - 60
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: int(then))
    user_id, path = signed_up(auth, app)
    monkeypatch.undo()
    response = client.get(path)
    assert response.status_code == 400 and "ha caducado" in response.get_data(as_text=True)
    assert client.post(path).status_code == 400
    assert user_row(app, user_id).email_verified_at is None


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + "xx", lambda t: "x" + t, lambda t: "abc"])
def test_a_forged_link_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions, tamper: object
) -> None:
    user_id, path = signed_up(auth, app)
    token = path.rsplit("/", 1)[1]
    forged = tamper(token)  # type: ignore[operator]
    assert client.post(f"/auth/verify/{forged}").status_code == 400
    assert user_row(app, user_id).email_verified_at is None


def test_a_link_for_another_purpose_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A reset link's token is signed with another salt: it verifies nothing."""
    account = auth.create_user(verified=False)
    with app.test_request_context():
        user = db.session.get(links.User, account.id)
        assert user is not None
        reset = links.make_token(links.Purpose.RESET, user)
    assert client.post(f"/auth/verify/{reset}").status_code == 400


def test_send_it_again_once_per_interval(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    email = f"again-{__import__('uuid').uuid4().hex}@example.com"
    auth.register(email=email)
    auth.login(email)
    user_id = user_row_by(app, email)
    assert len(notices(app, user_id, "verify_address")) == 1  # the sign-up's
    refused = client.post("/auth/verify/resend", follow_redirects=True)
    assert "Podrás pedir otro dentro de 5 minutos" in refused.get_data(as_text=True)
    assert len(notices(app, user_id, "verify_address")) == 1
    interval_passed(app, user_id)
    sent = client.post("/auth/verify/resend", follow_redirects=True)
    assert "Te enviamos un enlace nuevo" in sent.get_data(as_text=True)
    first, second = notices(app, user_id, "verify_address")
    assert client.post(link_path(second)).status_code == 302
    assert client.post(link_path(first)).status_code == 400  # verified: both are used up


def user_row_by(app: Flask, email: str) -> int:
    user = user_by_email(app, email)
    assert user is not None
    return user.id


def test_the_account_page_says_whether_the_address_is_verified(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    _user_id, path = signed_up(auth, app)
    assert "aún no está verificada" in client.get("/auth/account").get_data(as_text=True)
    client.post(path)
    assert "está verificada." in client.get("/auth/account").get_data(as_text=True)
