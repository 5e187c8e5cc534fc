"""Helpers of the account-email tests: the notices an account got, the link one
carries (as a path the test client can open), and time moved on for the interval."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select, update

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.outbox.models import EmailEvent


def notices(app: Flask, owner_id: int, kind: str) -> list[EmailEvent]:
    """The outbox rows of `kind` of the account, oldest first."""
    with app.app_context():
        query = (
            select(EmailEvent)
            .where(EmailEvent.owner_id == owner_id, EmailEvent.kind == kind)
            .order_by(EmailEvent.created_at)
        )
        return list(db.session.scalars(query))


def link_path(event: EmailEvent, field: str = "link") -> str:
    """The path of the link the email carries (the test client has no host)."""
    return urlsplit(event.payload["details"][field]).path


def interval_passed(app: Flask, owner_id: int) -> None:
    """As if every account email of the account went out long ago."""
    long_ago = "2000-01-01T00:00:00+00:00"
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.id == owner_id)
            .values(verify_sent_at=long_ago, reset_sent_at=long_ago, signup_notice_sent_at=long_ago)
        )
        db.session.commit()


def user_row(app: Flask, owner_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, owner_id)
        assert user is not None
        db.session.expunge(user)
        return user
