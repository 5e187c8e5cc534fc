"""The id of the web request behind a task, as a Celery message header
(docs/architecture.md, "Request correlation")."""

from __future__ import annotations

import re
from typing import Final

from celery.app.task import Context

from bookshelf_tasks.names import REQUEST_ID_HEADER

# The same pattern as services/nginx/nginx.conf.template: a plain token, so it can
# never inject anything into a log line or a header.
REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIdError(ValueError):
    """A request id that does not match REQUEST_ID_PATTERN."""


def is_request_id(value: object) -> bool:
    return isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) is not None


def request_id_headers(request_id: str | None) -> dict[str, str]:
    """The message headers for `request_id`: none when it is None; raises if malformed."""
    if request_id is None:
        return {}
    if not is_request_id(request_id):
        raise RequestIdError(f"not a request id (8-64 of A-Z a-z 0-9 . _ -): {request_id!r}")
    return {REQUEST_ID_HEADER: request_id}


def request_id_from(task_request: Context) -> str | None:
    """The request id a running task was sent with (its `self.request`), if a valid one."""
    value = task_request.get(REQUEST_ID_HEADER)
    if value is None:
        value = (task_request.headers or {}).get(REQUEST_ID_HEADER)
    return value if is_request_id(value) else None
