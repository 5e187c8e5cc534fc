"""The `auth` pages: sign-up, log-in/out, where log-in leads, session cookie flags, and
the account page's API token."""

from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.html_forms import find_form
from services.web.tests.support import AuthActions, MakeApp, user_by_email


def test_register_answers_check_your_inbox_and_hashes_with_scrypt(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Not logged in: an address that already had an account must get the same answer
    (accounts/test_signup.py). The owner logs in once the account exists."""
    email = "New-Reader-" + __import__("uuid").uuid4().hex + "@Example.com"
    response = auth.register(name="Ana", email=email)
    assert response.status_code == 302 and response.location == "/auth/inbox"
    assert "Revisa tu correo" in client.get("/auth/inbox").get_data(as_text=True)
    user = user_by_email(app, email)
    assert user is not None and user.name == "Ana" and user.email == email.lower()
    assert user.password_hash.startswith("scrypt:")
    assert "correct horse" not in user.password_hash
    assert user.email_verified_at is None
    assert client.get("/").status_code == 302  # not logged in by the sign-up
    assert auth.login(email).location == "/"  # an unverified account can log in


def test_register_page_renders(client: FlaskClient) -> None:
    page = client.get("/auth/register").get_data(as_text=True)
    assert '<label for="email">' in page and 'name="password"' in page


def test_login_and_logout(client: FlaskClient, auth: AuthActions) -> None:
    account = auth.create_user()
    response = auth.login(account.email.upper())
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client: FlaskClient, auth: AuthActions) -> None:
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
    client: FlaskClient, auth: AuthActions, next_url: str, expected: str
) -> None:
    account = auth.create_user()
    response = client.post(
        "/auth/login",
        data={"email": account.email, "password": "correct horse battery", "next": next_url},
    )
    assert response.location == expected


@pytest.mark.parametrize(
    "raw_next", ["/books%0D%0AX", "/books%0ASet-Cookie:%20x=1", "/%09/evil.example"]
)
def test_a_next_with_control_characters_leads_to_the_library(
    client: FlaskClient, auth: AuthActions, raw_next: str
) -> None:
    """The link's `next` travels through the form's hidden field to the redirect: CR/LF
    there would split the Location header (a 500), a tab is dropped by browsers."""
    account = auth.create_user()
    url = f"/auth/login?next={raw_next}"
    form = find_form(client.get(url).get_data(as_text=True), url, having="password")
    assert form.fields["next"] == unquote(raw_next)
    response = client.post(
        "/auth/login", data=form.filled(email=account.email, password="correct horse battery")
    )
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200  # logged in


def test_pages_need_login(client: FlaskClient) -> None:
    response = client.get("/books/new")
    assert response.status_code == 302 and response.location.startswith("/auth/login?next=")


def test_session_cookie_flags(make_app: MakeApp, auth: AuthActions) -> None:
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
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """POST-redirect-GET: the POST makes the token, the GET it leads to shows it once; a
    refresh shows it no more and makes no other."""
    account = auth.new_user()
    assert "Todavía no tienes ningún token." in client.get("/auth/account").get_data(as_text=True)
    made = client.post("/auth/account/token")
    assert made.status_code == 302 and made.location == "/auth/account"
    page = client.get(made.location).get_data(as_text=True)
    token = page.split('id="api-token" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith("bks_") and 'data-copy="api-token"' in page
    user = user_by_email(app, account.email)
    assert user is not None and user.api_token_hash and token not in user.api_token_hash
    refreshed = client.get("/auth/account").get_data(as_text=True)
    assert token not in refreshed and 'id="api-token"' not in refreshed
    assert user_by_email(app, account.email).api_token_hash == user.api_token_hash  # type: ignore[union-attr]
