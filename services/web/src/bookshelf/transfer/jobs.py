"""ImportJob: the upload writes it with the rows to insert; the worker runs it
(bookshelf_worker.importing). Reads filter by owner."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Mapped

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.outbox.producer import producer
from bookshelf.request_id import current_request_id
from bookshelf.transfer.csv_formats import ParsedFile
from bookshelf.transfer.import_rows import check_rows
from bookshelf_tasks.imports import ImportStatus, import_jobs_table, import_signature

log = logging.getLogger(__name__)
# A job no message started within this is published again by the sweep (beat).
START_GRACE = timedelta(seconds=30)


class ImportJob(db.Model):  # type: ignore[name-defined]
    __table__ = import_jobs_table(db.metadata)

    id: Mapped[str]
    owner_id: Mapped[int]
    status: Mapped[str]
    filename: Mapped[str]
    file_format: Mapped[str]
    rows: Mapped[list[dict[str, Any]]]
    refused: Mapped[list[dict[str, Any]]]
    total_rows: Mapped[int]
    processed: Mapped[int]
    imported: Mapped[int]
    attempts: Mapped[int]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    request_id: Mapped[str | None]

    @property
    def state(self) -> ImportStatus:
        return ImportStatus(self.status)

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def percent(self) -> int:
        """How far it is: the refused-at-upload rows count as done from the start."""
        if self.state is ImportStatus.DONE or not self.total_rows:
            return 100
        done = self.processed + (self.total_rows - len(self.rows))
        return min(99, done * 100 // self.total_rows)

    def refusals(self) -> list[dict[str, Any]]:
        """The refused rows by row number, each with its reasons in the reader's language."""
        found = []
        for entry in sorted(self.refused, key=lambda item: item["row"]):
            reasons = list(entry.get("reasons", []))
            if entry.get("duplicate_isbn"):
                reasons.append(
                    _("ISBN %(isbn)s is already in your library.", isbn=entry["duplicate_isbn"])
                )
            found.append({"row": entry["row"], "title": entry.get("title", ""), "reasons": reasons})
        return found

    def to_dict(self) -> dict[str, Any]:
        """What the API says of the job (openapi.yaml, ImportJob)."""
        return {
            "id": self.id,
            "status": self.status,
            "filename": self.filename,
            "format": self.file_format,
            "total_rows": self.total_rows,
            "processed": self.processed,
            "percent": self.percent,
            "imported": self.imported if self.state is ImportStatus.DONE else 0,
            "refused": self.refusals() if self.finished else [],
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": _("The import failed; nothing was imported.")
            if self.state is ImportStatus.FAILED
            else None,
        }


def owned_job(owner_id: int, job_id: str) -> ImportJob | None:
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None
    return db.session.scalar(
        select(ImportJob).where(ImportJob.id == job_id, ImportJob.owner_id == owner_id)
    )


def create_job(user: User, filename: str, parsed: ParsedFile) -> ImportJob:
    """Write the job with the rows that passed the rules, then ask a worker to run it.
    The publication is bounded by the shared publish timeouts (about a second when the
    broker is down) and may fail: the job is committed, and the sweep starts it."""
    checked = check_rows(parsed.rows)
    now = datetime.now(UTC)
    job = ImportJob(
        id=str(uuid.uuid4()),
        owner_id=user.id,
        status=ImportStatus.QUEUED.value,
        filename=(filename or "import.csv")[:255],
        file_format=parsed.file_format,
        rows=checked.valid,
        refused=checked.refused,
        total_rows=len(parsed.rows),
        processed=0,
        imported=0,
        attempts=0,
        lease_until=now + START_GRACE,
        created_at=now,
        request_id=current_request_id(),
    )
    try:
        db.session.add(job)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    _start(job.id)
    return job


def _start(job_id: str) -> None:
    try:
        import_signature(job_id, app=producer()).apply_async()
    except Exception as error:  # noqa: BLE001 - kombu, redis and socket errors alike
        log.warning("import %s not published (%s): the sweep starts it", job_id, error)
