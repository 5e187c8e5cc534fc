"""JSON API under /api/v1, described by openapi.yaml (served beside it).

Auth: `Authorization: Bearer <token>` (the account page's token) or the browser
session. CSRF: a Bearer request carries no ambient credential, so it needs no CSRF
token; a session-cookie write does, in the `X-CSRFToken` header (403 otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from bookshelf import queries, tokens
from bookshelf.book_input import FIELDS, validate_book
from bookshelf.errors import ApiError
from bookshelf.extensions import csrf
from bookshelf.models import User
from bookshelf.outbox import record
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.pages import PER_PAGE as EMAILS_PER_PAGE
from bookshelf.outbox.resend import resend

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # CSRF is checked below, for session-authenticated writes only
PUBLIC_ENDPOINTS = {"api.openapi"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PER_PAGE_MAX = 100


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
        g.api_user = user
        return
    if not current_user.is_authenticated:
        raise ApiError(401, _("Log in or send an API token."))
    if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # raises CSRFError -> 403 JSON
    g.api_user = current_user._get_current_object()


def api_user() -> User:
    return g.api_user


def _json_object() -> dict[str, Any]:
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


def _notification(event: EmailEvent) -> dict[str, Any]:
    """Where the change's email is: 'pending' at this point, published by the relay
    within milliseconds; GET /emails/{event_id} follows it."""
    return {"event_id": event.id, "status": event.status}


@bp.get("/openapi.yaml")
def openapi() -> Response:
    spec = Path(current_app.root_path, "openapi.yaml").read_text(encoding="utf-8")
    return Response(spec, mimetype="application/yaml")


@bp.get("/books")
def list_books() -> ResponseReturnValue:
    page = _positive_arg("page", 1, queries.PAGE_MAX)
    per_page = _positive_arg("per_page", current_app.config["BOOKS_PER_PAGE"], PER_PAGE_MAX)
    books = queries.book_page(api_user().id, page, per_page)
    return jsonify(
        items=[book.to_dict() for book in books.items],
        page=page,
        per_page=per_page,
        total=books.total,
        pages=books.pages,
    )


@bp.post("/books")
def create_book() -> ResponseReturnValue:
    body = _json_object()
    unknown = {key: _("Unknown field.") for key in body if key not in FIELDS}
    data, errors = validate_book(body)
    if unknown or errors or data is None:
        raise ApiError(422, _("Some fields are not valid."), {**unknown, **errors})
    book, event = record.add_book(api_user(), data)
    response = jsonify({**book.to_dict(), "notification": _notification(event)})
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_book", book_id=book.id)
    return response


def _owned_book_or_404(book_id: int) -> Any:
    book = queries.owned_book(api_user().id, book_id)
    if book is None:
        raise ApiError(404, _("No such book."))
    return book


@bp.get("/books/<int:book_id>")
def get_book(book_id: int) -> ResponseReturnValue:
    return jsonify(_owned_book_or_404(book_id).to_dict())


@bp.delete("/books/<int:book_id>")
def delete_book(book_id: int) -> ResponseReturnValue:
    book = _owned_book_or_404(book_id)
    event = record.delete_book(api_user(), book)
    return jsonify(deleted=book_id, notification=_notification(event))


# --- Confirmation emails: where each one is, and "send again" (outbox/resend.py).


def _owned_event_or_404(event_id: str) -> EmailEvent:
    event = queries.owned_event(api_user().id, event_id)
    if event is None:
        raise ApiError(404, _("No such email."))
    return event


@bp.get("/emails")
def list_emails() -> ResponseReturnValue:
    page = _positive_arg("page", 1, queries.PAGE_MAX)
    per_page = _positive_arg("per_page", EMAILS_PER_PAGE, PER_PAGE_MAX)
    events = queries.event_page(api_user().id, page, per_page)
    return jsonify(
        items=[event.to_dict() for event in events.items],
        page=page,
        per_page=per_page,
        total=events.total,
        pages=events.pages,
    )


@bp.get("/emails/<event_id>")
def get_email(event_id: str) -> ResponseReturnValue:
    return jsonify(_owned_event_or_404(event_id).to_dict())


@bp.post("/emails/<event_id>/resend")
def resend_email(event_id: str) -> ResponseReturnValue:
    """202 once it is on the queue again. A failed, uncertain or pending email only:
    one sent or on its way is a 409, so that a retried call cannot double it."""
    event = _owned_event_or_404(event_id)
    outcome = resend(event)
    if outcome == "not-resendable":
        raise ApiError(409, _("That email is already on its way or was sent."))
    if outcome == "invalid":  # its recorded payload is refused: now failed, with the reason
        raise ApiError(500, _("The confirmation email cannot be sent."))
    if outcome == "broker-down":  # pending: the outbox relay publishes it later
        raise ApiError(
            503,
            _("The confirmation email could not be queued yet; it will be retried automatically."),
        )
    response = jsonify(event.to_dict())  # read again: queued, or already claimed
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_email", event_id=event.id)
    return response
