"""Render a BookEvent's email (subject, text, HTML) in the user's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
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


def _render(name: str, context: dict[str, Any]) -> str:
    """The app's Jinja environment directly (it compiles each template once and keeps
    it): Flask's render_template adds the request globals and the signals of a page,
    which an email does not use, at a cost per email the profile showed."""
    return current_app.jinja_env.get_template(name).render(context)


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
            text=_render(f"{template}.txt", context),
            html=_render(f"{template}.html", context),
        )
