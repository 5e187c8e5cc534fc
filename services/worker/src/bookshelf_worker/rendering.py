"""Render an email (subject, text, HTML) in the user's language: a BookEvent's from
`email/book_<kind>`, a Notice's from `email/<kind>`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from bookshelf_tasks import BookEvent, Email

# Each notice kind's subject: fixed text, never the user's (a subject an attacker can
# choose is a phishing tool). A kind without one here cannot be rendered.
NOTICE_SUBJECTS = {
    "verify_address": _l("Confirm your email address for Bookshelf"),
    "address_taken": _l("Someone tried to sign up to Bookshelf with your address"),
    "password_reset": _l("Choose a new Bookshelf password"),
    "confirm_new_address": _l("Confirm your new email address for Bookshelf"),
    "address_changed": _l("Your Bookshelf email address was changed"),
    "digest": _l("Your day on Bookshelf"),
    "import_summary": _l("Your import into Bookshelf has finished"),
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _subject(event: Email) -> str:
    if not isinstance(event, BookEvent):
        return str(NOTICE_SUBJECTS[event.kind])
    if event.kind == "added":
        return gettext("Book added: %(title)s", title=event.title)
    if event.kind == "edited":
        return gettext("Book edited: %(title)s", title=event.title)
    return gettext("Book deleted: %(title)s", title=event.title)


def _render(name: str, context: dict[str, Any]) -> str:
    """The app's Jinja environment directly (it compiles each template once and keeps
    it): Flask's render_template adds the request globals and the signals of a page,
    which an email does not use, at a cost per email the profile showed."""
    return current_app.jinja_env.get_template(name).render(context)


def reader_zone(event: Email) -> str:
    """The reader's time zone: a BookEvent's own, a notice's `timezone` detail, else UTC."""
    if isinstance(event, BookEvent):
        return event.timezone
    return str(event.details.get("timezone") or "UTC")


def local_time(moment: datetime, zone: str, locale: str) -> str:
    """`moment` in the reader's zone and language, with the zone's name: never an
    unlabelled UTC ("25 de noviembre de 2026, 14:22:00 GMT-5 (America/Bogota)")."""
    return f"{babel_datetime(moment, 'long', tzinfo=ZoneInfo(zone), locale=locale)} ({zone})"


def render_email(event: Email) -> RenderedEmail:
    """Needs an app context. The .html template is autoescaped (Flask's default)."""
    template = f"email/book_{event.kind}" if isinstance(event, BookEvent) else f"email/{event.kind}"
    with force_locale(event.locale):
        context = {
            "event": event,
            "occurred_at": local_time(event.occurred_at_utc, reader_zone(event), event.locale),
        }
        if event.kind == "digest" and not isinstance(event, BookEvent):
            day = date.fromisoformat(event.details["day"])
            context["day"] = format_date(day, "full", locale=event.locale)
        return RenderedEmail(
            subject=_subject(event),
            text=_render(f"{template}.txt", context),
            html=_render(f"{template}.html", context),
        )
