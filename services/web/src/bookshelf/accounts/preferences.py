"""The user's email preference and time zone: their rules, and dates shown in that zone
(always with the zone's name, never an unlabelled UTC)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from bookshelf.accounts.models import TIMEZONE_MAX
from bookshelf_tasks.digest import EmailPreference

DEFAULT_TIMEZONE = "UTC"


@functools.cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone this Python knows, sorted, for the account page's list."""
    return tuple(sorted(available_timezones()))


def check_timezone(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, _("Choose a time zone.")
    name = value.strip()
    if len(name) > TIMEZONE_MAX or name not in timezone_names():
        return None, _("Not a known time zone (such as Europe/Madrid).")
    return name, None


def check_email_preference(value: Any) -> tuple[str | None, str | None]:
    try:
        return EmailPreference(value).value, None
    except ValueError:
        choices = ", ".join(preference.value for preference in EmailPreference)
        return None, _("Must be one of: %(choices)s.", choices=choices)


def check_email_on_edit(value: Any) -> tuple[bool | None, str | None]:
    if not isinstance(value, bool):
        return None, _("Must be true or false.")
    return value, None


def browser_timezone_or_default(value: Any) -> str:
    """Sign-up's hidden field, filled by the browser (Intl API): a zone, or UTC."""
    name, _error = check_timezone(value)
    return name or DEFAULT_TIMEZONE


def select_timezone() -> str | None:
    """Flask-Babel's time zone selector: the logged-in user's zone (else UTC)."""
    if current_user and current_user.is_authenticated:
        return str(current_user.timezone)
    return None


def zone_label(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIMEZONE
    return name


def local_datetime(moment: datetime | None, format: str = "medium") -> str:
    """`moment` in the user's zone, followed by the zone's name: "25 nov 2026, 19:03
    (Europe/Madrid)"."""
    if moment is None:
        return ""
    zone = select_timezone() or DEFAULT_TIMEZONE
    return f"{format_datetime(moment, format)} ({zone_label(zone)})"
