"""Registration's one rule the database settles: an email has one account, even when
two sign-ups race (users.create_user); through the sign-up form, which answers the
same either way (accounts/test_signup.py)."""

import pytest
from flask import Flask
from sqlalchemy import select

from bookshelf.accounts import users
from bookshelf.accounts.models import User
from bookshelf.extensions import db
from services.web.tests.support import AuthActions


def count_of(app: Flask, email: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(select(db.func.count()).select_from(User).where(User.email == email))
            or 0
        )


def test_a_duplicate_email_makes_no_second_account(app: Flask, auth: AuthActions) -> None:
    account = auth.create_user()
    response = auth.register(email=account.email.upper())
    assert response.location == "/auth/inbox"
    assert count_of(app, account.email) == 1


def test_duplicate_email_race_is_caught_by_the_unique_constraint(
    app: Flask, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = auth.create_user()
    # As if another request inserted the row between our check and our insert.
    monkeypatch.setattr(users, "find_by_email", lambda email: None)
    response = auth.register(email=account.email)
    assert response.location == "/auth/inbox"
    assert count_of(app, account.email) == 1
