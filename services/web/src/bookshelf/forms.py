"""WTForms forms. Field rules live in `book_input` and `accounts` so the API shares them."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, TextAreaField

from bookshelf.accounts import validate_registration
from bookshelf.book_input import BookInput, validate_book


def _attach(form: FlaskForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        field = getattr(form, name)
        field.errors = [*field.errors, message]


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"))
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        errors = validate_registration(self.name.data, self.email.data, self.password.data)
        _attach(self, errors)
        return ok and not errors


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))
    next = HiddenField()


class BookForm(FlaskForm):
    title = StringField(_l("Title"))
    author = StringField(_l("Author"))
    isbn = StringField(_l("ISBN"))
    year = StringField(_l("Year"))
    notes = TextAreaField(_l("Notes"))

    cleaned: BookInput | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        self.cleaned, errors = validate_book({name: self[name].data for name in self._fields})
        _attach(self, errors)
        return ok and not errors


class ConfirmForm(FlaskForm):
    """A bare POST form: only the CSRF token (delete, logout, token, retry, locale)."""
