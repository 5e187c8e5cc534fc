"""The rules for an account's fields (name, email, password), shared by the form and
the registration; pure functions."""

from __future__ import annotations

from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from bookshelf.accounts.models import EMAIL_MAX, NAME_MAX
from bookshelf.text_rules import check_line

PASSWORD_MIN = 10
PASSWORD_MAX = 256
# A local part this short ("ana") is too likely inside an ordinary password to refuse it.
_LOCAL_PART_MIN = 4


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most used passwords (lower case), shipped in the package.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: Any = None, name: Any = None) -> str | None:
    """Why `password` cannot be an account's password (sign-up, reset, change), or None."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return _(
            "Use between %(low)d and %(high)d characters.", low=PASSWORD_MIN, high=PASSWORD_MAX
        )
    folded = password.casefold()
    if folded in _common_passwords():
        return _("This password is one of the most used ones. Choose another.")
    address = str(email or "").strip().casefold()
    local_part = address.partition("@")[0]
    if address and (
        address in folded or (len(local_part) >= _LOCAL_PART_MIN and local_part in folded)
    ):
        return _("The password must not contain your email address.")
    if name and folded == str(name).strip().casefold():
        return _("The password must not be your name.")
    return None


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
    elif problem := password_problem(str(password), email, name):
        errors["password"] = problem
    return errors
