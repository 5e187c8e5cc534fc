"""/api/v1/account: the user's email preferences and time zone (the account page's
rules, accounts/preferences.py)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bookshelf.accounts import users
from bookshelf.accounts.models import User
from bookshelf.accounts.preferences import (
    check_email_on_edit,
    check_email_preference,
    check_timezone,
)
from bookshelf.api import api_user, bp, json_object
from bookshelf.errors import ApiError

EDITABLE = ("email_preference", "email_on_edit", "timezone")


def account_dict(user: User) -> dict[str, Any]:
    """What the API says of the account (openapi.yaml, Account)."""
    return {
        "name": user.name,
        "email": user.email,
        "locale": user.locale,
        "email_preference": user.email_preference,
        "email_on_edit": user.email_on_edit,
        "timezone": user.timezone,
    }


@bp.get("/account")
def get_account() -> ResponseReturnValue:
    return jsonify(account_dict(api_user()))


@bp.patch("/account")
def update_account() -> ResponseReturnValue:
    body = json_object()
    user = api_user()
    if not body:  # nothing to change (AccountUpdate's minProperties)
        required = _("This field is required.")
        raise ApiError(422, _("Some fields are not valid."), dict.fromkeys(EDITABLE, required))
    errors = {key: _("Unknown field.") for key in body if key not in EDITABLE}
    preference, preference_error = check_email_preference(
        body.get("email_preference", user.email_preference)
    )
    on_edit, on_edit_error = check_email_on_edit(body.get("email_on_edit", user.email_on_edit))
    zone, zone_error = check_timezone(body.get("timezone", user.timezone))
    errors.update(
        {name: error for name, error in (("email_preference", preference_error),
                                          ("email_on_edit", on_edit_error),
                                          ("timezone", zone_error)) if error}
    )  # fmt: skip
    if errors or preference is None or on_edit is None or zone is None:
        raise ApiError(422, _("Some fields are not valid."), errors)
    users.save_preferences(user, preference, zone, on_edit)
    return jsonify(account_dict(user))
