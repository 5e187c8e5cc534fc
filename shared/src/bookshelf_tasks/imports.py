"""A CSV import as a background job: its table, its states and how it is started.

The web validates the file and writes the job with the rows to insert; a worker runs
it (bookshelf_worker.importing). Why it never imports a row twice nor sends two
summaries: docs/architecture.md, "Import jobs".
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

from celery import signature
from celery.canvas import Signature
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from bookshelf_tasks.names import IMPORT_RUN, JOBS_QUEUE

if TYPE_CHECKING:
    from celery import Celery

# A worker that holds a job renews this lease with every chunk; past it, the sweep
# hands the job to another worker, which starts it again from nothing.
IMPORT_LEASE_SECONDS: Final = 120
# Runs of one job before it is given up as failed (nothing of it imported).
IMPORT_MAX_ATTEMPTS: Final = 3
# Rows inserted between two progress reports.
IMPORT_CHUNK: Final = 200


class ImportStatus(StrEnum):
    QUEUED = "queued"  # written by the web; no worker has it yet
    RUNNING = "running"  # a worker holds it (attempt N) under a lease
    DONE = "done"  # its books and its summary committed together
    FAILED = "failed"  # gave up: nothing of it was imported

    @property
    def finished(self) -> bool:
        return self in (ImportStatus.DONE, ImportStatus.FAILED)


def import_jobs_table(metadata: MetaData) -> Table:
    """The import job, defined once: the web maps its model on it, the worker runs it."""
    statuses = ", ".join(f"'{status}'" for status in ImportStatus)
    return Table(
        "import_jobs",
        metadata,
        Column("id", String(36), primary_key=True),  # a UUID; also the task id
        Column("owner_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("status", String(16), nullable=False, server_default=ImportStatus.QUEUED.value),
        Column("filename", String(255), nullable=False),
        Column("file_format", String(16), nullable=False),  # 'bookshelf' | 'goodreads'
        # [{line, title, author, isbn, year, notes}]: the rows that passed validation.
        Column("rows", JSON, nullable=False),
        # [{line, reasons: [..]}]: refused at upload (validation) and by the run (duplicates).
        Column("refused", JSON, nullable=False),
        Column("total_rows", Integer, nullable=False),
        Column("processed", Integer, nullable=False, server_default="0"),
        Column("imported", Integer, nullable=False, server_default="0"),
        Column("attempts", Integer, nullable=False, server_default="0"),  # fencing token
        Column("lease_until", DateTime(timezone=True)),
        Column("last_error", Text),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("request_id", String(64)),
        CheckConstraint(f"status IN ({statuses})", name="status"),
        Index("ix_import_jobs_owner_created", "owner_id", "created_at"),
        Index(
            "ix_import_jobs_unfinished",
            "lease_until",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


def import_signature(job_id: str, app: Celery | None = None) -> Signature:
    """`signature(IMPORT_RUN, kwargs={"job_id": ...})` on the jobs queue; the job id
    doubles as the task id."""
    return signature(
        IMPORT_RUN, kwargs={"job_id": job_id}, queue=JOBS_QUEUE, task_id=job_id, app=app
    )
