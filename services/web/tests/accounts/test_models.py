"""User: passwords stored as scrypt hashes; the login loader ignores a malformed id."""

from collections.abc import Iterator

import pytest
from flask import Flask

from bookshelf.accounts.models import User, load_user
from services.web.tests.support import AuthActions


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


def test_a_password_is_checked_against_its_hash() -> None:
    user = User(name="Ana", email="ana@example.com")
    user.set_password("correct horse battery")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("correct horse battery")
    assert not user.check_password("wrong")


def test_the_loader_finds_a_user_by_id(ctx: Flask, auth: AuthActions) -> None:
    account = auth.create_user()
    loaded = load_user(str(account.id))
    assert loaded is not None and loaded.email == account.email


@pytest.mark.parametrize("raw", ["", "abc", "-1", "1.5", "0"])
def test_the_loader_finds_nobody_for_a_malformed_id(ctx: Flask, raw: str) -> None:
    assert load_user(raw) is None
