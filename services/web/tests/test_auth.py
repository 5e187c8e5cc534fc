"""Registration, log-in/out, duplicate emails, session cookie flags, the API token page."""

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf import accounts
from bookshelf.extensions import db
from bookshelf.models import User


def user_by_email(app: Flask, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email.lower()))


def test_register_logs_in_and_hashes_with_scrypt(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    email = "New-Reader-" + __import__("uuid").uuid4().hex + "@Example.com"
    response = auth.register(name="Ana", email=email)
    assert response.status_code == 302 and response.location == "/"
    user = user_by_email(app, email)
    assert user is not None and user.name == "Ana" and user.email == email.lower()
    assert user.password_hash.startswith("scrypt:")
    assert "correct horse" not in user.password_hash
    assert client.get("/").status_code == 200


def test_register_page_renders(client: FlaskClient) -> None:
    page = client.get("/auth/register").get_data(as_text=True)
    assert '<label for="email">' in page and 'name="password"' in page


def test_duplicate_email_gets_a_clear_message(app: Flask, auth: Any) -> None:
    account = auth.create_user()
    response = auth.register(email=account.email.upper())
    assert response.status_code == 422
    assert "Ya existe una cuenta con este correo" in response.get_data(as_text=True)
    with app.app_context():
        count = db.session.scalar(
            select(db.func.count()).select_from(User).where(User.email == account.email)
        )
    assert count == 1


def test_duplicate_email_race_is_caught_by_the_unique_constraint(
    app: Flask, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = auth.create_user()
    # As if another request inserted the row between our check and our insert.
    monkeypatch.setattr(accounts, "find_by_email", lambda email: None)
    response = auth.register(email=account.email)
    assert response.status_code == 422
    assert "Ya existe una cuenta con este correo" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": ""}, "name", "Este campo es obligatorio."),
        ({"name": "Ana\nBob"}, "name", "No puede contener saltos de línea"),
        ({"name": "x" * 101}, "name", "como máximo 100 caracteres"),
        ({"email": ""}, "email", "Este campo es obligatorio."),
        ({"email": "not-an-email"}, "email", "Escribe una dirección de correo válida."),
        ({"email": "a@b"}, "email", "Escribe una dirección de correo válida."),
        ({"password": ""}, "password", "Este campo es obligatorio."),
        ({"password": "short"}, "password", "Usa entre 8 y 256 caracteres."),
    ],
)
def test_registration_validation(
    app: Flask, client: FlaskClient, form: dict[str, str], field: str, message: str
) -> None:
    email = f"v-{__import__('uuid').uuid4().hex}@example.com"
    data = {"name": "Ana", "email": email, "password": "long enough pw", **form}
    response = client.post("/auth/register", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert f'aria-describedby="{field}-error"' in page or f'{field}-error"' in page
    assert user_by_email(app, email) is None


def test_login_and_logout(client: FlaskClient, auth: Any) -> None:
    account = auth.create_user()
    response = auth.login(account.email.upper())
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client: FlaskClient, auth: Any) -> None:
    account = auth.create_user()
    response = auth.login(account.email, "wrong password")
    assert response.status_code == 422
    assert "Correo o contraseña incorrectos." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/notifications/", "/notifications/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ],
)
def test_login_redirects_only_to_local_paths(
    client: FlaskClient, auth: Any, next_url: str, expected: str
) -> None:
    account = auth.create_user()
    response = client.post(
        "/auth/login",
        data={"email": account.email, "password": "correct horse battery", "next": next_url},
    )
    assert response.location == expected


def test_pages_need_login(client: FlaskClient) -> None:
    response = client.get("/books/new")
    assert response.status_code == 302 and response.location.startswith("/auth/login?next=")


def test_session_cookie_flags(make_app: Any, auth: Any) -> None:
    account = auth.create_user()
    for secure in (False, True):
        client = make_app(SESSION_COOKIE_SECURE=secure).test_client()
        response = client.post(
            "/auth/login", data={"email": account.email, "password": "correct horse battery"}
        )
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_registration_stores_the_negotiated_locale(app: Flask, client: FlaskClient) -> None:
    email = f"en-{__import__('uuid').uuid4().hex}@example.com"
    client.post(
        "/auth/register",
        data={"name": "Ann", "email": email, "password": "long enough pw"},
        headers={"Accept-Language": "en-GB,en;q=0.8"},
    )
    user = user_by_email(app, email)
    assert user is not None and user.locale == "en"


def test_account_page_shows_a_new_token_once_and_stores_its_hash(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    account = auth.new_user()
    assert "Todavía no tienes ningún token." in client.get("/auth/account").get_data(as_text=True)
    page = client.post("/auth/account/token").get_data(as_text=True)
    token = page.split('id="api-token" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith("bks_")
    user = user_by_email(app, account.email)
    assert user is not None and user.api_token_hash and token not in user.api_token_hash
    assert token not in client.get("/auth/account").get_data(as_text=True)


@pytest.mark.parametrize("local_part", ["josé", "ñandú", "用户", "zoë.ana"])
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("es", "Usa solo letras sin acentos, números y . _ - + antes de la @"),
        ("en", "Use only unaccented letters, digits and . _ - + before the @"),
    ],
)
def test_a_non_ascii_local_part_is_refused_with_a_clear_message(
    app: Flask, client: FlaskClient, local_part: str, language: str, message: str
) -> None:
    """The worker's SMTP could never send to it (no SMTPUTF8): refuse it up front."""
    email = f"{local_part}-{__import__('uuid').uuid4().hex[:8]}@example.com"
    response = client.post(
        "/auth/register",
        data={"name": "Ana", "email": email, "password": "long enough pw"},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_by_email(app, email) is None


def test_an_internationalized_domain_is_accepted(auth: Any) -> None:
    """Only the local part must be ASCII: the domain is sent as IDNA."""
    response = auth.register(email=f"ana-{__import__('uuid').uuid4().hex[:8]}@ñandú.es")
    assert response.status_code == 302
