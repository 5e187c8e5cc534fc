"""The background jobs, registered under the names in bookshelf_tasks.names, on the
`jobs` queue: an import's run, the sweep that restarts abandoned imports (beat), and
the daily digest (beat). Thin: the work is in importing.py and digesting.py."""

from __future__ import annotations

import logging
from datetime import date

from celery import Task, shared_task
from flask import current_app
from sqlalchemy.engine import Engine

from bookshelf_tasks.imports import import_signature
from bookshelf_tasks.names import DIGEST_SEND, IMPORT_RUN, IMPORT_SWEEP
from bookshelf_worker import digesting, importing
from bookshelf_worker.outbox_rows import write_digest, write_import_summary

log = logging.getLogger(__name__)
# A run of 10,000 rows takes seconds; the limits (prefork only) leave room for a slow
# database, and the job's own lease is what hands it to another worker.
IMPORT_SOFT_TIME_LIMIT = 540
IMPORT_TIME_LIMIT = 600


def _jobs_engine() -> Engine:
    """The worker's engine with real transactions: an email's writes are single
    statements (AUTOCOMMIT), but an import commits its books, its `done` and its summary
    row together, and its advisory lock lives as long as that transaction."""
    engine: Engine = current_app.extensions["delivery_engine"]
    return engine.execution_options(isolation_level="READ COMMITTED")


@shared_task(
    bind=True,
    name=IMPORT_RUN,
    soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
    time_limit=IMPORT_TIME_LIMIT,
)
def run_import(self: Task, job_id: str) -> str:
    engine = _jobs_engine()
    job = importing.claim(engine, job_id)
    if job is None:  # done, failed, or another worker holds it: a copy of the message
        log.info("import job=%s outcome=not-claimed task_id=%s", job_id, self.request.id)
        return "not-claimed"
    try:
        imported = importing.run(engine, job, write_import_summary)
    except importing.LeaseLost:
        log.warning("import job=%s attempt=%s outcome=lease-lost", job_id, job.attempt)
        return "lease-lost"
    except Exception as error:
        outcome = importing.record_failure(engine, job, error)
        log.exception("import job=%s attempt=%s outcome=%s", job_id, job.attempt, outcome)
        return outcome
    log.info("import job=%s attempt=%s outcome=done imported=%s", job_id, job.attempt, imported)
    return "done"


@shared_task(bind=True, name=IMPORT_SWEEP)
def sweep_imports(self: Task) -> int:
    engine = _jobs_engine()
    due = importing.due_jobs(engine)
    for job_id in due:
        import_signature(job_id, app=self.app).apply_async()
    if due:
        log.info("import sweep published %d job(s)", len(due))
    return len(due)


@shared_task(bind=True, name=DIGEST_SEND)
def send_digests(self: Task, day: str | None = None) -> int:
    """Beat runs it without `day` (each user's yesterday); the test hook passes a day
    (`python -m bookshelf_worker.hooks digest --day YYYY-MM-DD`)."""
    engine = _jobs_engine()
    return digesting.run_digests(engine, write_digest, date.fromisoformat(day) if day else None)
