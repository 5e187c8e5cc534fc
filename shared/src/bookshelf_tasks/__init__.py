"""Bookshelf's task contract, shared by the web app (producer) and the worker (consumer).

Depends on Celery and SQLAlchemy Core only: never on Flask, never on either service.
"""

from bookshelf_tasks.correlation import (
    RequestIdError,
    is_request_id,
    request_id_from,
    request_id_headers,
)
from bookshelf_tasks.names import (
    BOOK_ADDED,
    BOOK_DELETED,
    EMAIL_QUEUE,
    REQUEST_ID_HEADER,
    TASK_NAMES,
    task_name_for,
)
from bookshelf_tasks.payloads import BookEvent, PayloadError
from bookshelf_tasks.signatures import book_added_signature, book_deleted_signature, signature_for

__all__ = [
    "BOOK_ADDED",
    "BOOK_DELETED",
    "EMAIL_QUEUE",
    "REQUEST_ID_HEADER",
    "TASK_NAMES",
    "BookEvent",
    "PayloadError",
    "RequestIdError",
    "book_added_signature",
    "book_deleted_signature",
    "is_request_id",
    "request_id_from",
    "request_id_headers",
    "signature_for",
    "task_name_for",
]
