"""Running an import job: every row and the job's summary in ONE transaction.

The books, the job's `done` and (once the outbox takes non-book emails) its summary
email commit together or not at all, fenced by the job's attempt number: a worker
that dies, or whose lease ran out, leaves nothing behind, and the next run starts again
from the first row (docs/architecture.md, "Import jobs").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, column, func, insert, select, table, text, update
from sqlalchemy.engine import Connection, Engine

from bookshelf_tasks.imports import (
    IMPORT_CHUNK,
    IMPORT_LEASE_SECONDS,
    IMPORT_MAX_ATTEMPTS,
    ImportStatus,
    import_jobs_table,
)

log = logging.getLogger(__name__)
jobs = import_jobs_table(MetaData())
# Only the columns an import writes; the web's Book model owns the table.
books = table(
    "books",
    column("owner_id"),
    column("title"),
    column("author"),
    column("isbn"),
    column("year"),
    column("notes"),
    column("created_at"),
)
_LEASE = text(f"now() + interval '{IMPORT_LEASE_SECONDS} seconds'")
# pg_advisory_xact_lock's first key: "imports"; the second is the owner's id. Two
# imports of one user run one after the other, so neither misses the other's ISBNs.
IMPORT_LOCK_CLASS = 0x1B0C


class LeaseLost(Exception):
    """Another attempt holds the job now: this one must leave nothing behind."""


@dataclass(frozen=True)
class Claimed:
    job_id: str
    attempt: int
    owner_id: int
    filename: str
    rows: list[dict[str, Any]]
    refused: list[dict[str, Any]]


def claim(engine: Engine, job_id: str) -> Claimed | None:
    """queued (or running under a lease that ran out) → running, attempt + 1."""
    with engine.begin() as connection:
        row = connection.execute(
            update(jobs)
            .where(
                jobs.c.id == job_id,
                (jobs.c.status == ImportStatus.QUEUED.value)
                | (
                    (jobs.c.status == ImportStatus.RUNNING.value)
                    & (jobs.c.lease_until < func.now())
                ),
            )
            .values(
                status=ImportStatus.RUNNING.value,
                attempts=jobs.c.attempts + 1,
                processed=0,
                lease_until=_LEASE,
            )
            .returning(
                jobs.c.attempts, jobs.c.owner_id, jobs.c.filename, jobs.c.rows, jobs.c.refused
            )
        ).first()
    if row is None:
        return None
    return Claimed(
        job_id, row.attempts, row.owner_id, row.filename, list(row.rows), list(row.refused)
    )


def _fenced(job: Claimed) -> Any:
    return (
        (jobs.c.id == job.job_id)
        & (jobs.c.attempts == job.attempt)
        & (jobs.c.status == ImportStatus.RUNNING.value)
    )


def report_progress(engine: Engine, job: Claimed, processed: int) -> None:
    """Outside the import's transaction, so the page sees it; renews the lease."""
    with engine.begin() as connection:
        found = connection.execute(
            update(jobs).where(_fenced(job)).values(processed=processed, lease_until=_LEASE)
        ).rowcount
    if not found:
        raise LeaseLost(job.job_id)


def _library_isbns(connection: Connection, owner_id: int) -> set[str]:
    found = connection.execute(
        text("SELECT isbn FROM books WHERE owner_id = :owner AND isbn IS NOT NULL"),
        {"owner": owner_id},
    )
    return {isbn for (isbn,) in found}


SummaryWriter = Callable[[Connection, Claimed, int, list[dict[str, Any]]], None]


def run(
    engine: Engine,
    job: Claimed,
    write_summary: SummaryWriter | None = None,
    chunk: int = IMPORT_CHUNK,
) -> int:
    """Insert the job's rows, skip ISBNs the library already has, mark it done and
    write its summary: one transaction. Returns how many books were imported."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:kind, :owner)"),
            {"kind": IMPORT_LOCK_CLASS, "owner": job.owner_id},
        )
        known = _library_isbns(connection, job.owner_id)
        refused = list(job.refused)
        imported = 0
        for start in range(0, len(job.rows), chunk):
            batch = []
            for row in job.rows[start : start + chunk]:
                if row["isbn"] is not None and row["isbn"] in known:
                    refused.append(
                        {"row": row["row"], "title": row["title"], "duplicate_isbn": row["isbn"]}
                    )
                    continue
                if row["isbn"] is not None:
                    known.add(row["isbn"])
                # Consecutive microseconds keep the file's order in "date added".
                created = now + timedelta(microseconds=row["row"])
                batch.append({**{k: row[k] for k in ("title", "author", "isbn", "year", "notes")},
                              "owner_id": job.owner_id, "created_at": created})  # fmt: skip
            if batch:
                connection.execute(insert(books), batch)
                imported += len(batch)
            report_progress(engine, job, min(start + chunk, len(job.rows)))
        done = connection.execute(
            update(jobs)
            .where(_fenced(job))
            .values(
                status=ImportStatus.DONE.value,
                processed=len(job.rows),
                imported=imported,
                refused=refused,
                finished_at=func.now(),
                lease_until=None,
            )
        ).rowcount
        if not done:
            raise LeaseLost(job.job_id)
        if write_summary is not None:
            write_summary(connection, job, imported, refused)
    return imported


def record_failure(engine: Engine, job: Claimed, error: BaseException) -> str:
    """The run rolled back. Under IMPORT_MAX_ATTEMPTS the job is due again at once
    (the sweep restarts it); after that it is failed."""
    final = job.attempt >= IMPORT_MAX_ATTEMPTS
    values: dict[str, Any] = {"last_error": str(error)[:500], "processed": 0}
    if final:
        values.update(status=ImportStatus.FAILED.value, finished_at=func.now(), lease_until=None)
    else:
        values.update(lease_until=func.now())
    with engine.begin() as connection:
        connection.execute(update(jobs).where(_fenced(job)).values(**values))
    return "failed" if final else "will-retry"


def due_jobs(engine: Engine, limit: int = 50) -> list[str]:
    """Jobs no worker moved on: never started (lost message, broker down at upload) or
    abandoned (lease over). Pushes their due time on, so the next sweep does not
    publish them again before a worker had time to claim them."""
    with engine.begin() as connection:
        ids = [
            job_id
            for (job_id,) in connection.execute(
                select(jobs.c.id)
                .where(
                    jobs.c.status.in_([ImportStatus.QUEUED.value, ImportStatus.RUNNING.value]),
                    jobs.c.lease_until < func.now(),
                )
                .order_by(jobs.c.lease_until)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ]
        if ids:
            connection.execute(
                update(jobs)
                .where(jobs.c.id.in_(ids), jobs.c.status == ImportStatus.QUEUED.value)
                .values(lease_until=_LEASE)
            )
    return ids
