"""Render a BookEvent's email (subject, text, HTML) in the user's language."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale, format_datetime, gettext

from bookshelf_tasks import BookEvent


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _subject(event: BookEvent) -> str:
    if event.kind == "added":
        return gettext("Book added: %(title)s", title=event.title)
    return gettext("Book deleted: %(title)s", title=event.title)


def render_email(event: BookEvent) -> RenderedEmail:
    """Needs an app context. The .html template is autoescaped (Flask's default)."""
    template = f"email/book_{event.kind}"
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
