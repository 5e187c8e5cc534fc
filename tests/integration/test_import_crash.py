"""An import whose worker is killed mid-run (SIGKILL, with rows inserted in its open
transaction): nothing of it stays, and the sweep's next run imports every row once.
Real processes: Postgres, a broker, a celery worker, the web app's upload."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery, signature
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bookshelf_tasks.celery_config import celery_settings, configure
from bookshelf_tasks.names import IMPORT_SWEEP, JOBS_QUEUE
from bookshelf_worker.importing import IMPORT_LOCK_CLASS
from devstack.broker import BrokerServer
from devstack.mailhog import MailHogServer
from devstack.process import wait_until
from devstack.worker import CeleryWorker
from tests.integration.support import MakeWeb, Outbox, logged_in_client, unique_address

pytestmark = pytest.mark.integration
ROWS = 1000


@pytest.fixture
def engine(own_outbox: Outbox) -> Iterator[Engine]:
    made = create_engine(own_outbox.url)
    yield made
    made.dispose()


def job_state(engine: Engine) -> tuple[str, int, int]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT status, attempts, imported FROM import_jobs")).one()
    return row.status, row.attempts, row.imported


def books_count(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT count(*), count(DISTINCT isbn) FROM books")).one()
    return int(row[0]), int(row[1])


def an_update_waits_on_the_job(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'UPDATE import_jobs%'"
                )
            ).scalar_one()
        )


def library_csv(rows: int) -> bytes:
    def isbn13(n: int) -> str:
        body = f"978{n:09d}"
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
        return body + str((10 - total % 10) % 10)

    lines = ["title,author,isbn"] + [f"Libro {n},Autora,{isbn13(n)}" for n in range(rows)]
    return "\n".join(lines).encode()


def test_worker_killed_mid_import_leaves_nothing_and_the_rerun_imports_once(
    tmp_path: Path,
    own_outbox: Outbox,
    own_broker: BrokerServer,
    mailhog_server: MailHogServer,
    make_web: MakeWeb,
    engine: Engine,
) -> None:
    def worker(name: str) -> CeleryWorker:
        return CeleryWorker(
            tmp_path / name, own_broker.url, mailhog_server.smtp_port,
            database_url=own_outbox.url, name=name,
        )  # fmt: skip

    web = make_web(own_broker.url, own_outbox.url)
    client, user_id = logged_in_client(web, unique_address("import-crash"))
    first = worker("import-worker-1").start()
    lock = {"kind": IMPORT_LOCK_CLASS, "owner": user_id}
    try:
        with engine.connect() as holder:
            # The run waits on this at its start, claimed and with nothing inserted...
            holder.execute(text("SELECT pg_advisory_lock(:kind, :owner)"), lock)
            upload = client.post(
                "/import", data={"file": (io.BytesIO(library_csv(ROWS)), "crash.csv")}
            )
            assert upload.status_code == 303
            assert wait_until(lambda: job_state(engine)[0] == "running", 30)
            # ...until the job's row is held here: then its first progress report
            # (after its first chunk is inserted, uncommitted) waits on this, however
            # fast or slow the machine.
            holder.execute(text("SELECT id FROM import_jobs FOR UPDATE"))
            holder.execute(text("SELECT pg_advisory_unlock(:kind, :owner)"), lock)
            assert wait_until(lambda: an_update_waits_on_the_job(engine), 30)
            assert first.process.proc is not None
            os.kill(first.process.proc.pid, signal.SIGKILL)
            holder.rollback()
        assert wait_until(lambda: not an_update_waits_on_the_job(engine), 30)
        assert books_count(engine) == (0, 0)  # the killed run's rows rolled back
        assert job_state(engine)[:2] == ("running", 1)
    finally:
        first.stop()

    with engine.begin() as connection:  # its lease is over (instead of waiting 120 s)
        connection.execute(text("UPDATE import_jobs SET lease_until = now()"))
    second = worker("import-worker-2").start()
    producer = configure(Celery("sweep", set_as_current=False), celery_settings(own_broker.url))
    try:
        signature(IMPORT_SWEEP, queue=JOBS_QUEUE, app=producer).apply_async()
        assert wait_until(lambda: job_state(engine)[0] == "done", 60), job_state(engine)
    finally:
        producer.close()
        second.stop()
    assert job_state(engine) == ("done", 2, ROWS)
    assert books_count(engine) == (ROWS, ROWS)
