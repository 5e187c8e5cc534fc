"""Helpers for the integration tests that drive the web app through Flask's test
client (the fixtures `database_url` and `make_web` are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from bookshelf.extensions import db
from bookshelf.models import User
from devstack.ports import free_port

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "services" / "web" / "migrations")
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"

MakeWeb = Callable[[str], Flask]


def web_config(database_url: str, broker_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "integration-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "CELERY_BROKER_URL": broker_url,
    }


def logged_in_client(app: Flask, address: str, locale: str = "es") -> tuple[FlaskClient, int]:
    """A new user with `address`, and a test client logged in as them."""
    with app.app_context():
        user = User(
            name="Lucía Pérez",
            email=address,
            locale=locale,
            password_hash=generate_password_hash("integration", method="pbkdf2:sha256:1"),
        )
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    return client_for(app, user_id), user_id


def client_for(app: Flask, user_id: int | str) -> FlaskClient:
    """A test client of `app` logged in as an existing user."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    return client


def closed_broker_url() -> str:
    """A broker URL nothing listens on: publishing to it fails at once."""
    return f"redis://127.0.0.1:{free_port()}/0"
