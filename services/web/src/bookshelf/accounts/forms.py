"""The sign-up and log-in forms; the field rules are accounts/rules.py's."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField

from bookshelf.accounts.rules import validate_registration
from bookshelf.forms import attach_errors


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"))
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        errors = validate_registration(self.name.data, self.email.data, self.password.data)
        attach_errors(self, errors)
        return ok and not errors


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))
    next = HiddenField()
