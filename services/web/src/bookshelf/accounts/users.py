"""Account actions: registration (a race included) and the credentials check."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from bookshelf.accounts.models import User
from bookshelf.accounts.rules import normalize_email
from bookshelf.extensions import db


class EmailTaken(Exception):
    """That email already has an account."""


def find_by_email(email: str) -> User | None:
    normalized = normalize_email(email)
    if normalized is None:
        return None
    return db.session.scalar(select(User).where(User.email == normalized))


def create_user(
    name: str,
    email: str,
    password: str,
    locale: str,
    timezone: str = "UTC",
    welcome: Callable[[User], None] | None = None,
) -> User:
    """Create the account, with what `welcome` adds in the same transaction (its
    verification email); raise EmailTaken when the address is registered (race included)."""
    normalized = normalize_email(email)
    assert normalized is not None, "validate_registration runs first"
    if find_by_email(normalized) is not None:
        # Spend the time a sign-up spends hashing: the answer's timing tells nothing.
        check_password_hash(_decoy_hash(), password)
        raise EmailTaken(normalized)
    user = User(name=name.strip(), email=normalized, locale=locale, timezone=timezone)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
        if welcome is not None:
            welcome(user)
        db.session.commit()
    except IntegrityError:
        # Another request registered the same email between the check and the insert.
        db.session.rollback()
        raise EmailTaken(normalized) from None
    return user


@cache
def _decoy_hash() -> str:
    return generate_password_hash("decoy password")


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email or "")
    if user is None:
        # Spend the same scrypt time, so response timing does not reveal who has an account.
        check_password_hash(_decoy_hash(), password or "")
        return None
    return user if user.check_password(password or "") else None


def save_preferences(user: User, email_preference: str, timezone: str, email_on_edit: bool) -> None:
    """Every value already passed accounts/preferences.py's rules."""
    user.email_preference = email_preference
    user.timezone = timezone
    user.email_on_edit = email_on_edit
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
