"""Fixtures of the web tests: a real throwaway Postgres (one per session, its schema
built by the migrations once), `app`, `client`, `auth` in the style of flaskr, and
`token`. The typed helpers behind them are in support.py.

Tests stay independent by giving every user a unique email (uuid), not by cleanup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from bookshelf import create_app
from bookshelf.extensions import db
from devstack.broker import BrokerServer
from devstack.postgres import PostgresServer
from services.web.tests.support import (
    PASSWORD,
    AuthActions,
    MakeApp,
    base_config,
    migrated_database,
)


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


@pytest.fixture(scope="session")
def database_url(postgres: PostgresServer) -> str:
    return migrated_database(postgres, "bookshelf_test")


@pytest.fixture(scope="session")
def password_hash() -> str:
    # scrypt is slow on purpose; hash the shared test password once.
    return generate_password_hash(PASSWORD)


@pytest.fixture
def make_app(database_url: str) -> Iterator[MakeApp]:
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
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(app: Flask, client: FlaskClient, password_hash: str) -> AuthActions:
    return AuthActions(app, client, password_hash)


@pytest.fixture
def token(auth: AuthActions) -> str:
    """A fresh user's API token (the client itself stays logged out)."""
    return auth.api_token(auth.create_user())
