"""The language of each page: the locale selector and the switch (the order they follow:
docs/architecture.md, "The web app's decisions")."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.forms import ConfirmForm
from bookshelf.safe_redirects import safe_next

bp = Blueprint("i18n", __name__)


def languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    chosen = session.get("locale")
    if chosen in languages():
        return str(chosen)
    if current_user.is_authenticated and current_user.locale in languages():
        return str(current_user.locale)
    matched = request.accept_languages.best_match(languages())
    return matched or current_app.config["BABEL_DEFAULT_LOCALE"]


def return_path() -> str:
    """Where the language switch sends the user back: this page, if it can be fetched."""
    rule = request.url_rule
    if rule is None or "GET" not in (rule.methods or ()):
        return ""
    if request.method == "GET" and request.query_string:
        return request.full_path
    return request.path


def isolated(value: object) -> Markup:
    """`value`, escaped, in a <bdi> (the template filter `bdi`): a right-to-left title
    or name inside a left-to-right sentence keeps its own direction and leaves the
    words and numbers around it where they were."""
    return Markup("<bdi>{}</bdi>").format(value)


def sentence(template: str, **values: object) -> Markup:
    """A translated `template` (already through gettext, not yet formatted) with each
    value escaped and isolated, for flash messages."""
    return escape(template) % {name: isolated(v) for name, v in values.items()}


@bp.post("/locale/<code>")
def switch(code: str) -> Response:
    if code not in languages():
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("books.index")))
