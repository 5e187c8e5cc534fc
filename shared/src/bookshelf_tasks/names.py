"""Task names and the queue they travel on.

Names are explicit and namespaced (Celery docs, "Tasks > Names"): the web app sends
by name and never imports the worker, so these strings are the whole contract.
"""

from typing import Final

EMAIL_QUEUE: Final = "email"
# Background jobs (a CSV import, the daily digest): their own queue, so that a long job
# never holds an email back (docs/architecture.md, "Import jobs").
JOBS_QUEUE: Final = "jobs"

# Emails about one book (bookshelf_tasks.payloads.BookEvent).
BOOK_ADDED: Final = "bookshelf.email.book_added"
BOOK_DELETED: Final = "bookshelf.email.book_deleted"
# Sent only to a user who asked for it (users.email_on_edit; docs/architecture.md,
# "Email preferences and digest").
BOOK_EDITED: Final = "bookshelf.email.book_edited"
# Emails that are not about a book (bookshelf_tasks.notices.Notice): one task per kind,
# `bookshelf.email.<kind>`; the kind's fields are declared in notices.NOTICE_KINDS.
VERIFY_ADDRESS: Final = "bookshelf.email.verify_address"
ADDRESS_TAKEN: Final = "bookshelf.email.address_taken"
PASSWORD_RESET: Final = "bookshelf.email.password_reset"  # noqa: S105 - a task name
CONFIRM_NEW_ADDRESS: Final = "bookshelf.email.confirm_new_address"
ADDRESS_CHANGED: Final = "bookshelf.email.address_changed"
DIGEST: Final = "bookshelf.email.digest"
IMPORT_SUMMARY: Final = "bookshelf.email.import_summary"

IMPORT_RUN: Final = "bookshelf.jobs.import_run"  # kwargs: job_id
IMPORT_SWEEP: Final = "bookshelf.jobs.import_sweep"  # beat: jobs never started or abandoned
DIGEST_SEND: Final = "bookshelf.jobs.digest_send"  # beat; kwargs: day (ISO date) for the hook

# The Celery message header that carries the id of the web request behind a task
# (nginx's X-Request-ID), so the worker can log it; see bookshelf_tasks.correlation.
REQUEST_ID_HEADER: Final = "request_id"

BOOK_NAME_BY_KIND: Final[dict[str, str]] = {
    "added": BOOK_ADDED,
    "deleted": BOOK_DELETED,
    "edited": BOOK_EDITED,
}
NOTICE_NAME_BY_KIND: Final[dict[str, str]] = {
    "verify_address": VERIFY_ADDRESS,
    "address_taken": ADDRESS_TAKEN,
    "password_reset": PASSWORD_RESET,
    "confirm_new_address": CONFIRM_NEW_ADDRESS,
    "address_changed": ADDRESS_CHANGED,
    "digest": DIGEST,
    "import_summary": IMPORT_SUMMARY,
}
_NAME_BY_KIND: Final = {**BOOK_NAME_BY_KIND, **NOTICE_NAME_BY_KIND}
# Every name the web can send: what the worker's contract test checks it registers.
TASK_NAMES: Final[tuple[str, ...]] = tuple(_NAME_BY_KIND.values())
JOB_TASK_NAMES: Final[tuple[str, ...]] = (IMPORT_RUN, IMPORT_SWEEP, DIGEST_SEND)


def task_name_for(kind: str) -> str:
    """The task that sends the email of `kind` (a BookEvent's or a Notice's)."""
    try:
        return _NAME_BY_KIND[kind]
    except KeyError:
        raise ValueError(f"no email task for event kind {kind!r}") from None
