"""Error responses: JSON `{"error": ..., "fields": {...}}` under /api/, pages elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


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


def _page(status: int, message: str) -> ResponseReturnValue:
    return render_template("errors/error.html", status=status, message=message), status


def handle_http(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if not wants_json():
        return _page(status, message_for(status))
    headers: dict[str, str] = {}
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
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


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
