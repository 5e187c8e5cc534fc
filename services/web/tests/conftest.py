"""Fixtures for the web tests: a real throwaway Postgres (one per session, schema built
by the Flask-Migrate upgrade once), `app`, `client`, `auth` in the style of flaskr.

Tests stay independent by giving every user a unique email (uuid), not by cleanup.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.models import User
from devstack.broker import BrokerServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer

MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerServer]:
    """A real Redis-protocol broker, for the tests that need publishing to succeed."""
    server = BrokerServer(tmp_path_factory.mktemp("broker")).start()
    yield server
    server.stop()


# Nothing listens there: publishing fails at once (connection refused), so every
# outbox event stays 'pending' and the "could not be queued yet" path is the real one.
UNREACHABLE_BROKER = f"redis://127.0.0.1:{free_port()}/0"


def base_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CELERY_BROKER_URL": UNREACHABLE_BROKER,
        "WTF_CSRF_ENABLED": False,
        **overrides,
    }


@pytest.fixture(scope="session")
def database_url(postgres: PostgresServer) -> str:
    url = postgres.create_database("bookshelf_test")
    app = create_app(base_config(url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def password_hash() -> str:
    # scrypt is slow on purpose; hash the shared test password once.
    return generate_password_hash(PASSWORD)


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(base_config(database_url, **overrides))
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def unique_email(prefix: str = "reader") -> str:
    return f"{prefix}-{uuid.uuid4().hex}@example.com"


@dataclass
class Account:
    id: int
    name: str
    email: str


class AuthActions:
    def __init__(self, app: Flask, client: FlaskClient, password_hash: str) -> None:
        self.app = app
        self.client = client
        self.password_hash = password_hash

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

    def create_user(self, name: str = "Ana", locale: str = "es") -> Account:
        """A user straight in the database (no scrypt per test)."""
        with self.app.app_context():
            user = User(
                name=name, email=unique_email(), password_hash=self.password_hash, locale=locale
            )
            db.session.add(user)
            db.session.commit()
            return Account(user.id, user.name, user.email)

    def login_as(self, account: Account) -> Account:
        """Log the client in as `account` the way Flask-Login's session does."""
        with self.client.session_transaction() as session:
            session["_user_id"] = str(account.id)
            session["_fresh"] = True
        return account

    def new_user(self, name: str = "Ana", locale: str = "es") -> Account:
        return self.login_as(self.create_user(name, locale))


@pytest.fixture
def auth(app: Flask, client: FlaskClient, password_hash: str) -> AuthActions:
    return AuthActions(app, client, password_hash)
