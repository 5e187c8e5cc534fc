"""API tokens: a regenerated token replaces the old one (only its sha256 is stored)."""

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.accounts import tokens
from bookshelf.accounts.models import User
from bookshelf.extensions import db
from services.web.tests.support import assert_error_shape, bearer


def test_regenerated_token_replaces_the_old_one(
    app: Flask, client: FlaskClient, token: str
) -> None:
    with app.app_context():
        user = db.session.scalar(
            select(User).where(User.api_token_hash == tokens.token_hash(token))
        )
        new_token = tokens.regenerate(user)
    assert_error_shape(client.get("/api/v1/books", headers=bearer(token)), 401)
    assert client.get("/api/v1/books", headers=bearer(new_token)).status_code == 200
