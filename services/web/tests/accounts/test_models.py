"""User: passwords stored as scrypt hashes; the login loader needs a live session row and
ignores a malformed id."""

from collections.abc import Iterator

import pytest
from flask import Flask, session

from bookshelf.accounts import sessions
from bookshelf.accounts.models import User, load_user
from services.web.tests.support import AuthActions


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.test_request_context():
        yield app


def test_a_password_is_checked_against_its_hash() -> None:
    user = User(name="Ana", email="ana@example.com")
    user.set_password("correct horse battery")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("correct horse battery")
    assert not user.check_password("wrong")


def test_the_loader_finds_a_user_by_id_with_a_live_session(ctx: Flask, auth: AuthActions) -> None:
    account = auth.create_user()
    assert load_user(str(account.id)) is None  # no session row: not logged in
    session[sessions.SESSION_KEY] = sessions.new_session(account.id)
    loaded = load_user(str(account.id))
    assert loaded is not None and loaded.email == account.email
    assert load_user(str(auth.create_user().id)) is None  # another user's id, same cookie


@pytest.mark.parametrize("raw", ["", "abc", "-1", "1.5", "0"])
def test_the_loader_finds_nobody_for_a_malformed_id(ctx: Flask, raw: str) -> None:
    assert load_user(raw) is None
