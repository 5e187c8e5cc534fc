"""Error responses: JSON `{"error": ..., "fields": {...}}` under /api/, pages elsewhere;
503 while Postgres is unavailable (docs/architecture.md, "The web app's decisions")."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from bookshelf.extensions import db

log = logging.getLogger(__name__)

# Seconds a client should wait before trying again while Postgres is unreachable: a
# restart or failover takes a few; the pool's pre-ping reconnects on the next request.
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(
    status: int,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> ResponseReturnValue:
    response = jsonify(error=message, fields={k: str(v) for k, v in (fields or {}).items()})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def message_for(status: int) -> str:
    messages = {
        400: _("The body is not valid JSON.")
        if wants_json()
        else _("The request could not be understood."),
        401: _("You need to log in."),
        403: _("You are not allowed to do that."),
        404: _("Not found."),
        405: _("That method is not allowed here."),
        413: _("The request is too large (the limit is %(size)s).", size=max_size_label()),
        415: _("Unsupported content type: send application/json."),
        422: _("Some fields are not valid."),
    }
    return messages.get(status, _("Something went wrong on our side. Please try again."))


def max_size_label() -> str:
    limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    return f"{limit / (1024 * 1024):g} MiB" if limit >= 1024 * 1024 else f"{limit} B"


def _page(status: int, message: str, headers: dict[str, str] | None = None) -> ResponseReturnValue:
    page = render_template("errors/error.html", status=status, message=message)
    return page, status, headers or {}


def handle_http(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    headers: dict[str, str] = {}
    # RFC 9110 15.5.6: a 405 lists the methods the resource supports, page or JSON.
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if not wants_json():
        return _page(status, message_for(status), headers)
    return json_error(status, message_for(status), headers=headers)


def handle_api_error(error: ApiError) -> ResponseReturnValue:
    headers = {"WWW-Authenticate": 'Bearer realm="bookshelf"'} if error.status == 401 else {}
    return json_error(error.status, error.message, error.fields, headers)


def handle_csrf(error: CSRFError) -> ResponseReturnValue:
    if wants_json():
        return json_error(403, _("Missing or invalid CSRF token: send it in X-CSRFToken."))
    return _page(400, _("The form expired or was not sent from this site. Please try again."))


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error", exc_info=error)
    if wants_json():
        return json_error(500, message_for(500))
    return _page(500, message_for(500))


def database_unavailable(error: SQLAlchemyError) -> bool:
    """Postgres did not answer, or dropped the connection: worth retrying shortly.

    OperationalError: refused, closed mid-query, shutting down, statement timeout,
    deadlock. InterfaceError: a connection already closed. Any other DBAPIError whose
    connection SQLAlchemy found dead. PoolTimeout: every pooled connection is busy.
    """
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _locale_without_database() -> str:
    """The language the page would use, minus the user's stored preference (a query)."""
    languages = tuple(current_app.config["LANGUAGES"])
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    matched = request.accept_languages.best_match(languages)
    return matched or current_app.config["BABEL_DEFAULT_LOCALE"]


def _discard_session() -> None:
    """End the failed transaction; a dead connection may refuse even the rollback."""
    try:
        db.session.rollback()
    except SQLAlchemyError as error:
        log.debug("rollback after a database failure failed too: %s", error)


def handle_database_error(error: SQLAlchemyError) -> ResponseReturnValue:
    if not database_unavailable(error):
        raise error  # an IntegrityError and the like: a bug, handled as any other 500
    cause = getattr(error, "orig", None) or error
    summary = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    log.warning("database unavailable, answering 503: %s: %s", type(cause).__name__, summary)
    _discard_session()
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    locale = _locale_without_database()
    with force_locale(locale):
        message = _("The service is temporarily unavailable. Please try again in a few seconds.")
        if wants_json():
            return json_error(503, message, headers=headers)
        page = current_app.jinja_env.get_template("errors/unavailable.html").render(
            lang=locale, message=message
        )
    return page, 503, headers


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_database_error)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
