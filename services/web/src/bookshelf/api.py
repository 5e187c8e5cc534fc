"""The JSON API under /api/v1, described by openapi.yaml (served beside it): one
blueprint, its authentication and the helpers its routes share. The routes live with
their feature: library/api.py (/books), outbox/api.py (/emails). Auth is a Bearer
token or the session; CSRF as docs/architecture.md, "The web app's decisions" says.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from bookshelf.accounts import tokens
from bookshelf.accounts.models import User
from bookshelf.errors import ApiError
from bookshelf.extensions import csrf
from bookshelf.library.book_input import year_max
from bookshelf.pagination import PAGE_MAX
from bookshelf.throttle.api_rate import limit_blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # CSRF is checked below, for session-authenticated writes only
limit_blueprint(bp)  # API_RATE_LIMIT per token
PUBLIC_ENDPOINTS = {"api.openapi"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PER_PAGE_MAX = 100
T = TypeVar("T")


def init_app(app: Flask) -> None:
    from bookshelf.accounts import api as accounts_api  # noqa: F401 - adds /account to bp
    from bookshelf.library import api as library_api  # noqa: F401 - adds /books to bp
    from bookshelf.outbox import api as outbox_api  # noqa: F401 - adds /emails to bp
    from bookshelf.transfer import api as transfer_api  # noqa: F401 - /export, /imports

    app.register_blueprint(bp)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, _("Use an 'Authorization: Bearer <token>' header."))
    return token.strip()


@bp.before_request
def authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    token = _bearer_token()
    if token is not None:
        user = tokens.user_for_token(token)
        if user is None:
            raise ApiError(401, _("The API token is not valid."))
        tokens.mark_used(user)
        g.api_user = user
        return
    if not current_user.is_authenticated:
        raise ApiError(401, _("Log in or send an API token."))
    if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # raises CSRFError -> 403 JSON
    g.api_user = current_user._get_current_object()


def api_user() -> User:
    user: User = g.api_user
    return user


def found_or_404(found: T | None, message: str) -> T:
    """`found`, or a JSON 404 with `message` when an owner-filtered read found nothing."""
    if found is None:
        raise ApiError(404, message)
    return found


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    if not request.is_json:
        raise UnsupportedMediaType(_("Send the body as application/json."))
    try:
        body = request.get_json()  # malformed JSON -> 400
    except RecursionError:  # absurdly deep nesting: malformed as far as we care
        raise BadRequest() from None
    if not isinstance(body, dict):
        raise ApiError(422, _("The body must be a JSON object."))
    return body


def _positive_arg(name: str, default: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= high:
        message = _("Must be a whole number between %(low)d and %(high)d.", low=1, high=high)
        raise ApiError(422, _("Invalid query parameter."), {name: message})
    return int(raw)


def requested_page(default_per_page: int) -> tuple[int, int]:
    """`page` and `per_page` from the query string; a 422 names one out of range."""
    page = _positive_arg("page", 1, PAGE_MAX)
    return page, _positive_arg("per_page", default_per_page, PER_PAGE_MAX)


def page_response(found: Pagination, page: int, per_page: int) -> Response:
    """One page of a list, each item as its `to_dict()` says (openapi.yaml, *Page)."""
    return jsonify(
        items=[item.to_dict() for item in found.items],
        page=page,
        per_page=per_page,
        total=found.total,
        pages=found.pages,
    )


OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
# The one line of openapi.yaml that depends on the date: BookInput.year's `maximum`,
# next year (the rule's year_max()). The file keeps it as a comment, which the served
# document replaces; the rest is served as written.
_YEAR_MAXIMUM = re.compile(r"^( *)# maximum: next year\b.*$", re.MULTILINE)


@functools.lru_cache(maxsize=2)
def openapi_text(latest_year: int) -> str:
    """openapi.yaml as served in a year whose latest book year is `latest_year`."""
    written = OPENAPI_PATH.read_text(encoding="utf-8")
    served, found = _YEAR_MAXIMUM.subn(rf"\g<1>maximum: {latest_year}", written)
    if found != 1:
        raise RuntimeError(f"{OPENAPI_PATH} needs one '# maximum: next year' line")
    return served


@bp.get("/openapi.yaml")
def openapi() -> Response:
    return Response(openapi_text(year_max()), mimetype="application/yaml")
