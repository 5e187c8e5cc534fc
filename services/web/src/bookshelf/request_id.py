"""Every request has an id (X-Request-ID), and every log line shows it
(docs/architecture.md, "Request correlation")."""

from __future__ import annotations

import logging
import uuid
from typing import Final

from flask import Flask, Response, g, has_request_context, request

from bookshelf_tasks import is_request_id
from bookshelf_tasks.logs import formatter

HTTP_HEADER: Final = "X-Request-ID"
NO_REQUEST: Final = "-"  # what log lines show outside a request (CLI, relay)
LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"
HANDLER_NAME: Final = "bookshelf"


def current_request_id() -> str | None:
    """The id of the request being handled, None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        # Computed on first use rather than only in the hook: a log line written by an
        # earlier before_request function (CSRF, the login manager) still gets it.
        supplied = request.headers.get(HTTP_HEADER)
        g.request_id = supplied if is_request_id(supplied) else uuid.uuid4().hex
    request_id: str = g.request_id
    return request_id


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the current request's, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or NO_REQUEST
        return True


def configure_logging(level: str, kind: str = "text") -> None:
    """One stderr handler on the root logger, so that every library's lines carry the
    request id too; installed once per process however many apps are created. `kind`:
    LOG_FORMAT, `text` (LOG_FORMAT above) or `json` (the same fields, one object a line).

    gunicorn's own loggers do not propagate to the root, so its lines are unchanged.
    """
    root = logging.getLogger()
    if any(handler.get_name() == HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(kind, LOG_FORMAT))
    # On the handler, not a logger: handler filters also see records propagated from
    # other loggers (sqlalchemy, celery, werkzeug...).
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Call before any other extension registers its before_request functions."""

    @app.before_request
    def assign_request_id() -> None:
        current_request_id()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers[HTTP_HEADER] = current_request_id() or NO_REQUEST
        return response
