"""Typed helpers of the web tests, in the style of flaskr's AuthActions: the test config,
a migrated database, unique users (logged in, or with an API token), rows read back,
and the API's error shape. Fixtures are in conftest.py; outbox/support.py adds the
outbox's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from jsonschema import Draft202012Validator
from sqlalchemy import select
from werkzeug.test import TestResponse

from bookshelf import create_app
from bookshelf.accounts import sessions, tokens
from bookshelf.accounts.models import User
from bookshelf.api import openapi_text
from bookshelf.extensions import db
from bookshelf.library.book_input import year_max
from bookshelf.library.models import Book
from bookshelf.outbox.models import EmailEvent
from devstack.bookshelf_client import unique_email
from devstack.ports import free_port
from devstack.postgres import PostgresServer

OPENAPI = Path(__file__).resolve().parents[1] / "src/bookshelf/openapi.yaml"
PASSWORD = "correct horse battery"

# Nothing listens there: publishing fails at once (connection refused), so every
# outbox event stays 'pending' and the "could not be queued yet" path is the real one.
UNREACHABLE_BROKER = f"redis://127.0.0.1:{free_port()}/0"

MakeApp = Callable[..., Flask]  # the `make_app` fixture: overrides of base_config


def base_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CELERY_BROKER_URL": UNREACHABLE_BROKER,
        "WTF_CSRF_ENABLED": False,
        **overrides,
    }


def migrated_database(server: PostgresServer, name: str) -> str:
    """A new database on `server`, its schema built by the migrations; its URL."""
    url = server.create_database(name)
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()  # the app's own migrations folder (create_app sets it)
        db.engine.dispose()
    return url


def served_openapi() -> dict[str, Any]:
    """openapi.yaml as the API serves it this year (with BookInput.year's maximum)."""
    spec: dict[str, Any] = yaml.safe_load(openapi_text(year_max()))
    return spec


def spec_validator(name: str) -> Draft202012Validator:
    """A validator for the served openapi.yaml's schema `name` (components/schemas)."""
    return Draft202012Validator({**served_openapi(), "$ref": f"#/components/schemas/{name}"})


@dataclass
class Account:
    id: int
    name: str
    email: str


class AuthActions:
    """Users of one app, and its test client logged in as one of them."""

    def __init__(self, app: Flask, client: FlaskClient, password_hash: str) -> None:
        self.app = app
        self.client = client
        self.password_hash = password_hash  # PASSWORD's, computed once per session

    def on(self, app: Flask, client: FlaskClient | None = None) -> AuthActions:
        """The same actions for another app (same database or not) and browser."""
        return AuthActions(app, client or app.test_client(), self.password_hash)

    def register(
        self, name: str = "Ana", email: str | None = None, password: str = PASSWORD
    ) -> TestResponse:
        return self.client.post(
            "/auth/register",
            data={"name": name, "email": email or unique_email(), "password": password},
        )

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def logout(self) -> TestResponse:
        return self.client.post("/auth/logout")

    def create_user(self, name: str = "Ana", locale: str = "es", verified: bool = True) -> Account:
        """A user straight in the database (no scrypt per test); its address verified
        unless told otherwise."""
        with self.app.app_context():
            user = User(
                name=name,
                email=unique_email(),
                password_hash=self.password_hash,
                locale=locale,
                email_verified_at=datetime.now(UTC) if verified else None,
            )
            db.session.add(user)
            db.session.commit()
            return Account(user.id, user.name, user.email)

    def login_as(self, account: Account) -> Account:
        """Log the client in as `account` the way accounts/sessions.py does."""
        with self.app.app_context():
            secret = sessions.new_session(account.id)
        with self.client.session_transaction() as session:
            session["_user_id"] = str(account.id)
            session["_fresh"] = True
            session[sessions.SESSION_KEY] = secret
        return account

    def new_user(self, name: str = "Ana", locale: str = "es") -> Account:
        return self.login_as(self.create_user(name, locale))

    def api_token(self, account: Account) -> str:
        """A new API token of `account`, as the account page makes one."""
        with self.app.app_context():
            user = db.session.get(User, account.id)
            assert user is not None
            return tokens.regenerate(user)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error_shape(response: TestResponse, status: int) -> dict[str, Any]:
    """An API error: `status`, JSON `{"error": message, "fields": {...}}`; its body."""
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"error", "fields"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["fields"], dict)
    return body


def insert_book(
    app: Flask,
    owner_id: int,
    title: str = "Dune",
    author: str = "Frank Herbert",
    *,
    isbn: str | None = None,
    year: int | None = None,
) -> int:
    """A book straight in the database (no outbox row); its id."""
    with app.app_context():
        book = Book(owner_id=owner_id, title=title, author=author, isbn=isbn, year=year)
        db.session.add(book)
        db.session.commit()
        return book.id


def books_of(app: Flask, owner_id: int) -> list[Book]:
    with app.app_context():
        return list(db.session.scalars(select(Book).where(Book.owner_id == owner_id)))


def events_of(app: Flask, owner_id: int) -> list[EmailEvent]:
    with app.app_context():
        return list(db.session.scalars(select(EmailEvent).where(EmailEvent.owner_id == owner_id)))


def user_by_email(app: Flask, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email.lower()))


class RestartablePostgres(PostgresServer):
    """A Postgres that can go away and come back with its data: PostgresServer.stop()
    also deletes the cluster. For the tests that stop it mid-session, on a server of
    their own."""

    def halt(self) -> None:
        """Stop it as an outage would: open connections are dropped, new ones refused."""
        done = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        assert done.returncode == 0, done.stderr

    def resume(self) -> None:
        """Start it again, on the same port and options (pg_ctl restart reads them
        from postmaster.opts when the server is down)."""
        done = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "restart"
        )
        assert done.returncode == 0, done.stderr


def small_pages_library(
    make_app: MakeApp, auth: AuthActions, books: list[tuple[str, str]], per_page: int = 2
) -> FlaskClient:
    """A client logged in as a new user who has `books` (title, author), on an app that
    lists `per_page` books a page, so that a few books make several pages."""
    app = make_app(BOOKS_PER_PAGE=per_page)
    client = app.test_client()
    user = auth.on(app, client).new_user()
    for title, author in books:
        insert_book(app, user.id, title=title, author=author)
    return client
