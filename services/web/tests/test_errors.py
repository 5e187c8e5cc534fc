"""Error pages for people, JSON errors under /api/: 404, 405, 413, and 503 while
Postgres is unavailable (against a real Postgres, stopped and started again)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.test import TestResponse

from bookshelf.errors import DATABASE_RETRY_AFTER
from services.web.tests.support import (
    PASSWORD,
    AuthActions,
    MakeApp,
    RestartablePostgres,
    migrated_database,
)


def test_too_large_form_gets_a_clear_page(make_app: MakeApp, auth: AuthActions) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    auth.on(app, client).new_user()
    response = client.post("/books/new", data={"title": "T", "author": "A", "notes": "n" * 4096})
    assert response.status_code == 413
    assert "La petición es demasiado grande (el límite es 1024 B)." in response.get_data(
        as_text=True
    )


def test_default_limit_is_one_mib(client: FlaskClient, auth: AuthActions) -> None:
    auth.new_user()
    response = client.post(
        "/api/v1/books", json={"title": "T", "author": "A", "notes": "n" * ONE_MIB}
    )
    assert response.status_code == 413
    assert response.get_json()["error"].endswith("(el límite es 1 MiB).")


ONE_MIB = 1024 * 1024


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Error 404" in response.get_data(as_text=True)


def test_wrong_method_on_a_page_is_405_with_allow(client: FlaskClient) -> None:
    for method in ("DELETE", "TRACE"):
        response = client.open("/auth/login", method=method)
        assert response.status_code == 405 and response.mimetype == "text/html"
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


# --- Postgres unavailable: 503 with Retry-After, never a bare 500 ----------------------

UNAVAILABLE_ES = "El servicio no está disponible en este momento."
UNAVAILABLE_EN = "The service is temporarily unavailable."


@pytest.fixture(scope="module")
def flaky_postgres() -> Iterator[RestartablePostgres]:
    """A server of this module's own: stopping it leaves the session's Postgres alone."""
    server = RestartablePostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def flaky_database_url(flaky_postgres: RestartablePostgres) -> str:
    return migrated_database(flaky_postgres, "flaky")


@dataclass
class Site:
    """An app on the flaky database, a logged-in browser and an API token."""

    app: Flask
    browser: FlaskClient
    email: str
    token: str

    def page(self, **headers: str) -> TestResponse:
        return self.browser.get("/", headers=headers)

    def api(self, **headers: str) -> TestResponse:
        headers["Authorization"] = f"Bearer {self.token}"
        return self.app.test_client().get("/api/v1/books", headers=headers)

    def login_form(self) -> TestResponse:
        form = {"email": self.email, "password": PASSWORD}
        return self.app.test_client().post("/auth/login", data=form)


@pytest.fixture
def site(make_app: MakeApp, flaky_database_url: str, password_hash: str) -> Site:
    app = make_app(SQLALCHEMY_DATABASE_URI=flaky_database_url)
    auth = AuthActions(app, app.test_client(), password_hash)
    account = auth.new_user()
    return Site(app, auth.client, account.email, auth.api_token(account))


@pytest.fixture
def postgres_down(flaky_postgres: RestartablePostgres) -> Iterator[RestartablePostgres]:
    flaky_postgres.halt()
    yield flaky_postgres
    flaky_postgres.resume()


def assert_503(response: TestResponse) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER)


@pytest.mark.parametrize(
    ("headers", "lang", "message"),
    [({}, "es", UNAVAILABLE_ES), ({"Accept-Language": "en"}, "en", UNAVAILABLE_EN)],
)
def test_a_page_is_a_static_503_in_the_visitors_language(
    site: Site, postgres_down: RestartablePostgres, headers: dict[str, str], lang: str, message: str
) -> None:
    response = site.page(**headers)
    assert_503(response)
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body and message in body
    assert "/auth/logout" not in body  # rendered without current_user (no menu)
    assert "Error 500" not in body


def test_the_api_is_a_json_503(site: Site, postgres_down: RestartablePostgres) -> None:
    response = site.api(**{"Accept-Language": "en"})
    assert_503(response)
    body = response.get_json()
    assert body == {"error": body["error"], "fields": {}}
    assert body["error"].startswith(UNAVAILABLE_EN)
    assert site.api().get_json()["error"].startswith(UNAVAILABLE_ES)


def test_the_login_form_is_a_503(site: Site, postgres_down: RestartablePostgres) -> None:
    response = site.login_form()
    assert_503(response)
    assert UNAVAILABLE_ES in response.get_data(as_text=True)
    # The form itself needs no database: it is still there to try again.
    assert site.app.test_client().get("/auth/login").status_code == 200


def test_the_same_requests_succeed_once_postgres_is_back(
    site: Site, flaky_postgres: RestartablePostgres
) -> None:
    assert (site.page().status_code, site.api().status_code) == (200, 200)
    flaky_postgres.halt()
    try:
        assert [r.status_code for r in (site.page(), site.api(), site.login_form())] == [503] * 3
    finally:
        flaky_postgres.resume()
    # The pool still holds connections from before the outage; pre-ping replaces them.
    assert site.page().status_code == 200
    assert site.api().status_code == 200
    assert site.login_form().status_code == 302


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        InterfaceError("SELECT 1", {}, Exception("connection already closed")),
        DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
        PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=["operational", "interface", "invalidated", "pool-timeout"],
)
def test_every_kind_of_lost_database_is_a_503(make_app: MakeApp, error: Exception) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/v1/_lost")
    def lost() -> str:
        raise error

    assert_503(app.test_client().get("/api/v1/_lost"))


def test_any_other_database_error_is_still_a_500(make_app: MakeApp) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/v1/_bug")
    def bug() -> str:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    response = app.test_client().get("/api/v1/_bug")
    assert response.status_code == 500 and "Retry-After" not in response.headers
