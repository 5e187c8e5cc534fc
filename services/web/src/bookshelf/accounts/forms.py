"""The sign-up and log-in forms; the field rules are accounts/rules.py's."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice

from bookshelf.accounts.preferences import (
    check_email_preference,
    check_timezone,
    timezone_names,
)
from bookshelf.accounts.rules import validate_registration
from bookshelf.forms import attach_errors


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"))
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))
    # Filled by static/timezone.js from the browser (Intl API); UTC when it is not.
    timezone = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        errors = validate_registration(self.name.data, self.email.data, self.password.data)
        attach_errors(self, errors)
        return ok and not errors


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))
    next = HiddenField()


class PreferencesForm(FlaskForm):
    email_preference = RadioField(
        _l("Emails about my books"),
        choices=[
            SelectChoice("each", _l("A confirmation for every book I add or delete")),
            SelectChoice("digest", _l("One daily digest of the day's changes")),
            SelectChoice("none", _l("No emails")),
        ],
        validate_choice=False,  # the rule below says why a value is refused
    )
    email_on_edit = BooleanField(_l("Also email me when I edit a book"))
    timezone = SelectField(_l("Time zone"), validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(name, name) for name in timezone_names()]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        _value, preference_error = check_email_preference(self.email_preference.data)
        _zone, zone_error = check_timezone(self.timezone.data)
        errors = {
            name: error
            for name, error in (("email_preference", preference_error), ("timezone", zone_error))
            if error
        }
        attach_errors(self, errors)
        return ok and not errors
