"""Bookshelf's task contract, shared by the web app (producer) and the worker (consumer).

Depends on Celery, SQLAlchemy Core and the operations libraries (prometheus-client,
python-json-logger, sentry-sdk): never on Flask, never on either service.
The names below are the ones the services import from the package itself; the rest is
read from its modules (`names`, `notices`, `celery_config`, `delivery`, `settings_env`,
`logs`, `metrics_http`, `error_tracking`).
"""

from bookshelf_tasks.correlation import is_request_id, request_id_from
from bookshelf_tasks.emails import Email, email_from_dict
from bookshelf_tasks.names import BOOK_ADDED, BOOK_DELETED, BOOK_EDITED, VERIFY_ADDRESS
from bookshelf_tasks.notices import Notice
from bookshelf_tasks.payloads import BookEvent, PayloadError
from bookshelf_tasks.signatures import signature_for

__all__ = [
    "BOOK_ADDED",
    "BOOK_DELETED",
    "BOOK_EDITED",
    "VERIFY_ADDRESS",
    "BookEvent",
    "Email",
    "Notice",
    "PayloadError",
    "email_from_dict",
    "is_request_id",
    "request_id_from",
    "signature_for",
]
