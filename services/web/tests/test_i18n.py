"""Spanish by default; English via Accept-Language or the switch (session and user)."""

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.models import User


def test_spanish_by_default(client: FlaskClient) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page and "Log in" not in page


def test_english_via_accept_language(client: FlaskClient) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in page and "Log in" in page and "Iniciar sesión" not in page


def test_unsupported_language_falls_back_to_spanish(client: FlaskClient) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": "de, fr;q=0.5"})
    assert "Iniciar sesión" in page.get_data(as_text=True)


def test_switch_beats_accept_language(client: FlaskClient) -> None:
    response = client.post("/locale/en", data={"next": "/auth/register"})
    assert response.status_code == 302 and response.location == "/auth/register"
    page = client.get("/auth/register", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Create your account" in page
    client.post("/locale/es")
    page = client.get("/auth/register", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Crea tu cuenta" in page


def test_switch_is_stored_on_the_user(app: Flask, client: FlaskClient, auth: Any) -> None:
    account = auth.new_user(locale="es")
    client.post("/locale/en", data={"next": "https://evil.example/"})
    with app.app_context():
        assert db.session.get(User, account.id).locale == "en"
    # A new session for the same user (no session choice) follows the stored preference.
    fresh = app.test_client()
    with fresh.session_transaction() as session:
        session["_user_id"] = str(account.id)
    page = fresh.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "My books" in page


def test_unknown_locale_is_404(client: FlaskClient) -> None:
    assert client.post("/locale/fr").status_code == 404


def test_plural_forms(app: Flask, client: FlaskClient, auth: Any) -> None:
    from bookshelf.models import Book

    account = auth.new_user()
    with app.app_context():
        db.session.add(Book(owner_id=account.id, title="Solo", author="A"))
        db.session.commit()
    assert "1 libro" in client.get("/").get_data(as_text=True)
    client.post("/locale/en")
    assert "1 book" in client.get("/").get_data(as_text=True)


def test_switch_returns_to_the_page_or_home_after_a_post(client: FlaskClient, auth: Any) -> None:
    auth.new_user()
    page = client.get("/?page=2").get_data(as_text=True)
    assert 'name="next" value="/?page=2"' in page
    after_post = client.post("/auth/account/token").get_data(as_text=True)
    assert 'name="next" value=""' in after_post  # /auth/account/token has no GET
