"""The forms of the account's life after sign-up: reset, change password or address,
delete. Their password rules are accounts/rules.py's."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField

from bookshelf.accounts.rules import validate_registration
from bookshelf.forms import attach_errors


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"))


class NewPasswordForm(FlaskForm):
    """A new password, checked by the sign-up rules for this account's name and address
    (set `name` and `address` before validating)."""

    password = PasswordField(_l("New password"))
    name = ""
    address = ""

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        errors = validate_registration(self.name, self.address, self.password.data)
        attach_errors(self, {k: v for k, v in errors.items() if k == "password"})
        return ok and "password" not in errors


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"))


class ChangeEmailForm(FlaskForm):
    email = EmailField(_l("New email"))
    current_password = PasswordField(_l("Current password"))


class DeleteAccountForm(FlaskForm):
    current_password = PasswordField(_l("Current password"))
