"""Helpers for the web tests, typed, in the style of flaskr's AuthActions: the test
config, unique users, and logging a test client in. Fixtures are in conftest.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from bookshelf.extensions import db
from bookshelf.models import User
from devstack.ports import free_port
from devstack.postgres import PostgresServer

MIGRATIONS = str(Path(__file__).resolve().parents[1] / "migrations")
OPENAPI = Path(__file__).resolve().parents[1] / "src/bookshelf/openapi.yaml"
PASSWORD = "correct horse battery"

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


def spec_validator(name: str) -> Draft202012Validator:
    """A validator for openapi.yaml's schema `name` (components/schemas)."""
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return Draft202012Validator({**spec, "$ref": f"#/components/schemas/{name}"})


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
