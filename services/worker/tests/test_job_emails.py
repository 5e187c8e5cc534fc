"""The import's summary and the daily digest as outbox rows: written once (a fixed id
per job, per user and day), valid Notices, and sent through the same email task path
in the reader's language and time zone. Real Postgres and SMTP (aiosmtpd)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from bookshelf_tasks.delivery import events
from bookshelf_tasks.names import DIGEST, IMPORT_SUMMARY
from bookshelf_tasks.notices import Notice
from bookshelf_worker import importing
from bookshelf_worker.digesting import activity, run_digests
from bookshelf_worker.importing import jobs
from bookshelf_worker.outbox_rows import summary_event_id, write_digest, write_import_summary
from services.worker.tests.support import ScriptedSMTPHandler, run_task


def reader(engine: Engine, preference: str = "each", zone: str = "America/Bogota") -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO users (name, email, password_hash, created_at, locale, "
                    "email_preference, timezone) VALUES ('Ana Núñez', :email, '-', now(), 'es', "
                    ":pref, :zone) RETURNING id"
                ),
                {
                    "email": f"j-{uuid.uuid4().hex[:12]}@example.com",
                    "pref": preference,
                    "zone": zone,
                },
            ).scalar_one()
        )


def rows_of(engine: Engine, owner: int) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(events).where(events.c.owner_id == owner)))


def new_job(engine: Engine, owner: int, count: int) -> str:
    job_id = str(uuid.uuid4())
    rows = [
        {"row": n, "title": f"Libro {n}", "author": "A", "isbn": None, "year": None, "notes": None}
        for n in range(2, 2 + count)
    ]
    with engine.begin() as connection:
        connection.execute(
            insert(jobs).values(
                id=job_id, owner_id=owner, filename="mis libros.csv", file_format="bookshelf",
                rows=rows, refused=[{"row": 99, "title": "", "reasons": ["x"]}],
                total_rows=count + 1, created_at=func.now(), lease_until=func.now(),
            )
        )  # fmt: skip
    return job_id


def test_an_import_commits_one_summary_row_and_it_is_sent_in_the_readers_zone(
    outbox_engine: Engine, worker_app: Flask, smtp_handler: ScriptedSMTPHandler
) -> None:
    owner = reader(outbox_engine)
    job_id = new_job(outbox_engine, owner, 3)
    job = importing.claim(outbox_engine, job_id)
    assert job is not None
    assert importing.run(outbox_engine, job, write_import_summary) == 3
    [row] = rows_of(outbox_engine, owner)
    assert (row.id, row.kind, row.status) == (summary_event_id(job_id), "import_summary", "pending")
    notice = Notice.from_dict(row.payload)
    assert notice.details == {
        "filename": "mis libros.csv", "timezone": "America/Bogota", "imported": 3, "refused": 1,
    }  # fmt: skip
    assert run_task(worker_app, IMPORT_SUMMARY, row.payload, task_id=row.id).result == "sent"
    [message] = smtp_handler.delivered
    assert message["Subject"] == "Tu importación a Bookshelf ha terminado"
    body = message.get_body(("plain",)).get_content()
    assert "3 libros importados" in body and "1 fila no importada" in body
    assert "(America/Bogota)" in body and "mis libros.csv" in body


def test_no_summary_for_a_reader_who_wants_no_email(outbox_engine: Engine) -> None:
    owner = reader(outbox_engine, preference="none")
    job = importing.claim(outbox_engine, new_job(outbox_engine, owner, 2))
    assert job is not None
    assert importing.run(outbox_engine, job, write_import_summary) == 2
    assert rows_of(outbox_engine, owner) == []


def test_a_digest_is_written_once_however_often_it_runs(
    outbox_engine: Engine, worker_app: Flask, smtp_handler: ScriptedSMTPHandler
) -> None:
    owner = reader(outbox_engine, preference="digest", zone="Europe/Madrid")
    with outbox_engine.begin() as connection:
        for kind, title in (("added", "Rayuela"), ("added", "Ficciones"), ("deleted", "Dune")):
            connection.execute(
                insert(activity).values(
                    owner_id=owner, kind=kind, title=title, author="A",
                    occurred_at=datetime(2026, 4, 3, 12, 0, tzinfo=UTC),
                )
            )  # fmt: skip
    day = date(2026, 4, 3)
    now = datetime(2026, 4, 4, 1, 0, tzinfo=UTC)
    assert run_digests(outbox_engine, write_digest, day=day, now=now) >= 1
    run_digests(outbox_engine, write_digest, day=day, now=now)  # beat again, a restart...
    run_digests(outbox_engine, write_digest, now=now)  # Madrid's yesterday: the same day
    [row] = rows_of(outbox_engine, owner)
    details = Notice.from_dict(row.payload).details
    assert (details["day"], details["added_count"], details["deleted_count"]) == (
        "2026-04-03",
        2,
        1,
    )
    assert run_task(worker_app, DIGEST, row.payload, task_id=row.id).result == "sent"
    assert run_task(worker_app, DIGEST, row.payload, task_id=row.id).result == "duplicate-skipped"
    [message] = smtp_handler.delivered
    assert message["Subject"] == "Tu día en Bookshelf"
    body = message.get_body(("plain",)).get_content()
    assert "2 libros añadidos" in body and "1 libro eliminado" in body
    assert "Rayuela" in body and "Dune" in body and "(Europe/Madrid)" in body


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC"])
def test_a_book_email_shows_its_date_in_the_readers_zone(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: Any, zone: str
) -> None:
    event = make_event(timezone=zone)
    assert run_task(worker_app, "bookshelf.email.book_added", event.to_dict(),
                    task_id=event.event_id).result == "sent"  # fmt: skip
    [message] = smtp_handler.delivered
    assert f"({zone})" in message.get_body(("plain",)).get_content()
