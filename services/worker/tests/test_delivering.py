"""One attempt against its outbox row: copies are dropped by the claim, a lost lease
stops the send at DATA, and a database outage sends nothing. Real SMTP (aiosmtpd) and
a real Postgres; tasks run eagerly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from celery.result import EagerResult
from flask import Flask
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from bookshelf_tasks import BOOK_ADDED, BookEvent
from bookshelf_tasks.celery_config import EMAIL_MAX_RETRIES
from bookshelf_tasks.delivery import events
from devstack.ports import free_port
from services.worker.tests.support import (
    MakeEvent,
    ScriptedSMTPHandler,
    email_lines,
    event_row,
    run_task,
    worker_app_for,
)


def run(app: Flask, event: BookEvent) -> EagerResult:
    """As a redelivered message runs: same task id (the event id) each time."""
    return run_task(app, BOOK_ADDED, event.to_dict(), task_id=event.event_id)


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [line.fields["outcome"] for line in email_lines(caplog)]


def test_a_second_message_for_a_delivered_event_is_dropped(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = make_event()
    first, second = run(worker_app, event), run(worker_app, event)

    assert (first.result, second.result) == ("sent", "duplicate-skipped")
    assert len(smtp_handler.delivered) == 1
    assert outcomes(caplog) == ["sent", "duplicate-skipped"]
    skipped = next(r for r in caplog.records if "duplicate-skipped" in r.getMessage())
    assert f"event_id={event.event_id}" in skipped.getMessage()


def test_copies_running_at_once_send_one_email(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    event = make_event()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [r.result for r in pool.map(lambda _: run(worker_app, event), range(4))]
    assert sorted(results) == ["duplicate-skipped"] * 3 + ["sent"]
    assert len(smtp_handler.delivered) == 1


def test_a_failed_event_is_final_for_a_redelivered_message(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    smtp_handler.data_replies = ["550 mailbox unavailable", "250 OK"]
    event = make_event()
    assert run(worker_app, event).result == "failed"
    assert run(worker_app, event).result == "duplicate-skipped"
    assert not smtp_handler.delivered


def test_an_expired_lease_stops_the_send_at_data(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    outbox_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker slower than its lease must not send: the relay may have handed the
    event to another attempt."""
    event = make_event()

    def lease_runs_out() -> None:
        with outbox_engine.begin() as connection:
            connection.execute(
                update(events)
                .where(events.c.id == event.event_id)
                .values(due_at=text("now() - interval '1 second'"))
            )

    smtp_handler.on_rcpt = lease_runs_out
    assert run(worker_app, event).result == "lease-lost"
    assert smtp_handler.data_attempts == 0 and not smtp_handler.delivered
    row = event_row(outbox_engine, event.event_id)
    assert (row.status, row.data_sent_at) == ("sending", None)  # the relay resends it
    assert outcomes(caplog) == ["lease-lost"]


def test_without_the_database_nothing_is_sent(
    smtp: tuple[ScriptedSMTPHandler, int],
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = smtp
    app = worker_app_for(port, f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none")
    assert run(app, make_event()).result == "database-unavailable"
    assert not handler.delivered and handler.rcpt_attempts == 0
    # Retried with backoff (eagerly here, at once), then left to the relay.
    assert outcomes(caplog) == ["database-unavailable"] * (EMAIL_MAX_RETRIES + 1)
