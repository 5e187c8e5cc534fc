"""An import job's run on a real Postgres (the web's migrations): all rows or none,
duplicates refused, fenced by the attempt number, restarted without doubling."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from bookshelf_tasks.imports import IMPORT_MAX_ATTEMPTS, ImportStatus
from bookshelf_worker import importing
from bookshelf_worker.importing import books, jobs

MakeJob = Callable[..., str]


@pytest.fixture
def reader(outbox_engine: Engine) -> int:
    """A user of their own per test: an import's duplicates are per library."""
    with outbox_engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO users (name, email, password_hash, created_at) "
                    "VALUES ('Ana', :email, '-', now()) RETURNING id"
                ),
                {"email": f"reader-{uuid.uuid4().hex[:12]}@example.com"},
            ).scalar_one()
        )


def row(number: int, isbn: str | None = None, title: str | None = None) -> dict[str, Any]:
    return {
        "row": number,
        "title": title or f"Book {number}",
        "author": "Someone",
        "isbn": isbn,
        "year": 1999,
        "notes": None,
    }


@pytest.fixture
def make_job(outbox_engine: Engine, reader: int) -> MakeJob:
    def make(rows: list[dict[str, Any]], refused: list[dict[str, Any]] | None = None) -> str:
        job_id = str(uuid.uuid4())
        with outbox_engine.begin() as connection:
            connection.execute(
                insert(jobs).values(
                    id=job_id,
                    owner_id=reader,
                    filename="books.csv",
                    file_format="bookshelf",
                    rows=rows,
                    refused=refused or [],
                    total_rows=len(rows) + len(refused or []),
                    created_at=func.now(),
                    lease_until=func.now(),
                )
            )
        return job_id

    return make


def titles_of(engine: Engine, owner: int) -> list[str]:
    with engine.connect() as connection:
        query = select(books.c.title).where(books.c.owner_id == owner).order_by(books.c.title)
        return list(connection.scalars(query))


def job_row(engine: Engine, job_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(jobs).where(jobs.c.id == job_id)).one()


def test_a_run_imports_every_row_and_reports_library_duplicates(
    outbox_engine: Engine, make_job: MakeJob, reader: int
) -> None:
    with outbox_engine.begin() as connection:
        connection.execute(
            insert(books).values(
                owner_id=reader, title="Already", author="X", isbn="9780441172719",
                created_at=func.now(),
            )
        )  # fmt: skip
    job_id = make_job(
        [row(2, "9780441172719"), row(3, "0306406152"), row(4)],
        refused=[{"row": 5, "title": "", "reasons": ["Title: required"]}],
    )
    job = importing.claim(outbox_engine, job_id)
    assert job is not None and job.attempt == 1
    assert importing.run(outbox_engine, job, chunk=1) == 2
    assert titles_of(outbox_engine, reader) == ["Already", "Book 3", "Book 4"]
    done = job_row(outbox_engine, job_id)
    assert (done.status, done.imported, done.processed) == ("done", 2, 3)
    assert {entry["row"] for entry in done.refused} == {2, 5}
    assert next(e for e in done.refused if e["row"] == 2)["duplicate_isbn"] == "9780441172719"
    # A copy of the message finds it done: nothing is imported twice.
    assert importing.claim(outbox_engine, job_id) is None
    assert len(titles_of(outbox_engine, reader)) == 3


def test_the_summary_commits_with_the_books_or_neither_does(
    outbox_engine: Engine, make_job: MakeJob, reader: int
) -> None:
    job_id = make_job([row(2), row(3)])
    job = importing.claim(outbox_engine, job_id)
    assert job is not None

    def failing_summary(connection: Connection, *_: Any) -> None:
        raise RuntimeError("the summary could not be written")

    with pytest.raises(RuntimeError):
        importing.run(outbox_engine, job, failing_summary)
    assert titles_of(outbox_engine, reader) == []  # nothing half-imported
    assert job_row(outbox_engine, job_id).status == "running"


def test_a_failed_run_is_due_again_then_given_up(
    outbox_engine: Engine, make_job: MakeJob, reader: int
) -> None:
    job_id = make_job([row(2)])
    for attempt in range(1, IMPORT_MAX_ATTEMPTS + 1):
        assert job_id in importing.due_jobs(outbox_engine) or attempt > 1
        with outbox_engine.begin() as connection:  # the sweep's lease is over
            connection.execute(
                update(jobs).where(jobs.c.id == job_id).values(lease_until=func.now())
            )
        job = importing.claim(outbox_engine, job_id)
        assert job is not None and job.attempt == attempt
        outcome = importing.record_failure(outbox_engine, job, RuntimeError("boom"))
        assert outcome == ("failed" if attempt == IMPORT_MAX_ATTEMPTS else "will-retry")
    failed = job_row(outbox_engine, job_id)
    assert (failed.status, failed.last_error) == (ImportStatus.FAILED.value, "boom")
    assert importing.claim(outbox_engine, job_id) is None
    assert titles_of(outbox_engine, reader) == []


def test_a_run_whose_lease_was_taken_over_leaves_nothing(
    outbox_engine: Engine, make_job: MakeJob, reader: int
) -> None:
    """A worker that stalled past its lease: another attempt took the job. The stale
    run's next progress report is refused, it rolls back, and the new one imports."""
    job_id = make_job([row(n) for n in range(2, 12)])
    stale = importing.claim(outbox_engine, job_id)
    assert stale is not None
    with outbox_engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == job_id).values(lease_until=func.now()))
    fresh = importing.claim(outbox_engine, job_id)
    assert fresh is not None and fresh.attempt == stale.attempt + 1
    with pytest.raises(importing.LeaseLost):
        importing.run(outbox_engine, stale, chunk=3)
    assert titles_of(outbox_engine, reader) == []
    assert importing.run(outbox_engine, fresh) == 10
    assert len(titles_of(outbox_engine, reader)) == 10


def test_five_thousand_rows_in_one_run(
    outbox_engine: Engine, make_job: MakeJob, reader: int
) -> None:
    rows = [row(n, title=f"Libro {n:05d}") for n in range(2, 5002)]
    job_id = make_job(rows)
    job = importing.claim(outbox_engine, job_id)
    assert job is not None
    assert importing.run(outbox_engine, job) == 5000
    assert job_row(outbox_engine, job_id).processed == 5000
    assert len(titles_of(outbox_engine, reader)) == 5000
