"""The form every blueprint shares, and how a form shows its feature's field rules.

Each feature's forms (accounts/forms.py, library/forms.py) take their rules from the
feature's pure functions, which the JSON API applies too.
"""

from __future__ import annotations

from flask_wtf import FlaskForm


def attach_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Show each rule's message next to its field."""
    for name, message in errors.items():
        field = getattr(form, name)
        field.errors = [*field.errors, message]


class ConfirmForm(FlaskForm):
    """A bare POST form: only the CSRF token (delete, logout, token, retry, locale)."""
