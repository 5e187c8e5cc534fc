"""Account rules and actions: registration, credentials check, the locale preference."""

from __future__ import annotations

from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from bookshelf.book_input import check_line
from bookshelf.extensions import db
from bookshelf.models import EMAIL_MAX, NAME_MAX, User

PASSWORD_MIN = 8
PASSWORD_MAX = 256


class EmailTaken(Exception):
    """That email already has an account."""


def normalize_email(raw: str) -> str | None:
    # allow_smtputf8=False: the worker's SMTP (Flask-Mail) can only send to an ASCII
    # local part; an internationalized domain is fine, it goes out as IDNA.
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    email = checked.normalized.lower()
    return email if len(email) <= EMAIL_MAX else None


def validate_registration(name: Any, email: Any, password: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    _clean, name_error = check_line(name, NAME_MAX)
    if name_error:
        errors["name"] = name_error
    if not email:
        errors["email"] = _("This field is required.")
    elif normalize_email(str(email)) is None:
        if not str(email).rpartition("@")[0].isascii():
            errors["email"] = _(
                "Use only unaccented letters, digits and . _ - + before the @; "
                "we cannot send email to that address."
            )
        else:
            errors["email"] = _("Enter a valid email address.")
    if not password:
        errors["password"] = _("This field is required.")
    elif not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors["password"] = _(
            "Use between %(low)d and %(high)d characters.", low=PASSWORD_MIN, high=PASSWORD_MAX
        )
    return errors


def find_by_email(email: str) -> User | None:
    normalized = normalize_email(email)
    if normalized is None:
        return None
    return db.session.scalar(select(User).where(User.email == normalized))


def create_user(name: str, email: str, password: str, locale: str) -> User:
    """Create the account; raise EmailTaken when the address is registered (race included)."""
    normalized = normalize_email(email)
    assert normalized is not None, "validate_registration runs first"
    if find_by_email(normalized) is not None:
        raise EmailTaken(normalized)
    user = User(name=name.strip(), email=normalized, locale=locale)
    user.set_password(password)
    db.session.add(user)
    try:
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
