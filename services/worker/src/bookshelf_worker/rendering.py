"""Render an email (subject, text, HTML) in the user's language: a BookEvent's from
`email/book_<kind>`, a Notice's from `email/<kind>`."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale, format_datetime, gettext
from flask_babel import lazy_gettext as _l

from bookshelf_tasks import BookEvent, Email

# Each notice kind's subject: fixed text, never the user's (a subject an attacker can
# choose is a phishing tool). A kind without one here cannot be rendered.
NOTICE_SUBJECTS = {
    "verify_address": _l("Confirm your email address for Bookshelf"),
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
    return gettext("Book deleted: %(title)s", title=event.title)


def render_email(event: Email) -> RenderedEmail:
    """Needs an app context. The .html template is autoescaped (Flask's default)."""
    template = f"email/book_{event.kind}" if isinstance(event, BookEvent) else f"email/{event.kind}"
    with force_locale(event.locale):
        context = {
            "event": event,
            "occurred_at": format_datetime(event.occurred_at_utc, "long"),
        }
        return RenderedEmail(
            subject=_subject(event),
            text=render_template(f"{template}.txt", **context),
            html=render_template(f"{template}.html", **context),
        )
