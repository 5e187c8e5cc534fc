"""Task names and the queue they travel on.

Names are explicit and namespaced (Celery docs, "Tasks > Names"): the web app sends
by name and never imports the worker, so these strings are the whole contract.
"""

from typing import Final

EMAIL_QUEUE: Final = "email"

# Emails about one book (bookshelf_tasks.payloads.BookEvent).
BOOK_ADDED: Final = "bookshelf.email.book_added"
BOOK_DELETED: Final = "bookshelf.email.book_deleted"
# Emails that are not about a book (bookshelf_tasks.notices.Notice): one task per kind,
# `bookshelf.email.<kind>`; the kind's fields are declared in notices.NOTICE_KINDS.
VERIFY_ADDRESS: Final = "bookshelf.email.verify_address"

# The Celery message header that carries the id of the web request behind a task
# (nginx's X-Request-ID), so the worker can log it; see bookshelf_tasks.correlation.
REQUEST_ID_HEADER: Final = "request_id"

BOOK_NAME_BY_KIND: Final[dict[str, str]] = {"added": BOOK_ADDED, "deleted": BOOK_DELETED}
NOTICE_NAME_BY_KIND: Final[dict[str, str]] = {"verify_address": VERIFY_ADDRESS}
_NAME_BY_KIND: Final = {**BOOK_NAME_BY_KIND, **NOTICE_NAME_BY_KIND}
# Every name the web can send: what the worker's contract test checks it registers.
TASK_NAMES: Final[tuple[str, ...]] = tuple(_NAME_BY_KIND.values())


def task_name_for(kind: str) -> str:
    """The task that sends the email of `kind` (a BookEvent's or a Notice's)."""
    try:
        return _NAME_BY_KIND[kind]
    except KeyError:
        raise ValueError(f"no email task for event kind {kind!r}") from None
