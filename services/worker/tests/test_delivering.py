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
from devstack.process import wait_until
from services.worker.tests.support import (
    HANG,
    MAIL_TIMEOUT,
    CuttingSMTP,
    MakeEvent,
    ScriptedSMTPHandler,
    TricklingSMTP,
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


# --- On a reused SMTP connection (bookshelf_worker.smtp_pool): the DATA gate and the
# classification after DATA work as on a new one; a connection the server had closed
# is replaced within the attempt.


def test_a_failure_after_data_on_a_reused_connection_is_uncertain(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_handler.data_replies = ["250 OK", HANG]
    first, second = make_event(), make_event()
    assert run(worker_app, first).result == "sent"
    assert run(worker_app, second).result == "uncertain"

    pool = worker_app.extensions["smtp_pool"]
    assert (pool.opened, pool.stale) == (1, 0)  # the second went out on the first's
    assert smtp_handler.data_attempts == 2  # and was never sent again
    row = event_row(worker_app.extensions["delivery_engine"], second.event_id)
    assert (row.status, row.attempts) == ("uncertain", 1)
    assert row.data_sent_at is not None and "timed out" in row.last_error
    assert outcomes(caplog) == ["sent", "uncertain"]


def test_a_connection_the_server_closed_is_replaced_within_the_attempt(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server answers the reused connection's first command with "421 closing":
    the email goes out on a new connection, as attempt 1, not as a retry."""
    smtp_handler.mail_replies = ["250 OK", "421 4.4.2 idle for too long, closing", "250 OK"]
    first, second = make_event(), make_event()
    assert run(worker_app, first).result == "sent"
    assert run(worker_app, second).result == "sent"

    pool = worker_app.extensions["smtp_pool"]
    assert (pool.opened, pool.stale) == (2, 1)
    assert len(smtp_handler.delivered) == 2
    row = event_row(worker_app.extensions["delivery_engine"], second.event_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert outcomes(caplog) == ["sent", "sent"]


def test_a_lost_lease_on_a_reused_connection_sends_nothing(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    outbox_engine: Engine,
) -> None:
    """LeaseLost stops the send between RCPT and DATA: that connection is dropped (its
    transaction is half done) and the next email opens a new one."""
    first, second, third = make_event(), make_event(), make_event()
    assert run(worker_app, first).result == "sent"

    def lease_runs_out() -> None:
        if smtp_handler.rcpt_attempts == 1:  # the second email's RCPT
            with outbox_engine.begin() as connection:
                connection.execute(
                    update(events)
                    .where(events.c.id == second.event_id)
                    .values(due_at=text("now() - interval '1 second'"))
                )

    smtp_handler.on_rcpt = lease_runs_out
    assert run(worker_app, second).result == "lease-lost"
    assert run(worker_app, third).result == "sent"
    assert smtp_handler.data_attempts == 2 and len(smtp_handler.delivered) == 2
    assert worker_app.extensions["smtp_pool"].opened == 2


def test_a_connection_cut_at_data_before_the_message_went_out_is_retried_not_uncertain(
    outbox_url: str,
    outbox_engine: Engine,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the point of no return, but the server hung up on DATA before its 354: it
    never had the message, so this is a plain transient failure, retried and sent once
    (not 'uncertain', which would leave the user to press "Send again")."""
    server = CuttingSMTP(cuts=1).start()
    app = worker_app_for(server.port, outbox_url)
    event = make_event()
    try:
        assert run(app, event).result == "sent"  # eager: the retry runs within
    finally:
        app.extensions["smtp_pool"].close()
        app.extensions["delivery_engine"].dispose()
        server.stop()
    row = event_row(outbox_engine, event.event_id)
    assert (server.cut, server.messages) == (1, 1)
    assert (row.status, row.attempts) == ("sent", 2)
    assert outcomes(caplog) == ["retrying", "sent"]


def test_a_server_that_never_finishes_its_reply_is_cut_off_at_the_deadline(
    outbox_url: str,
    outbox_engine: Engine,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It trickles a line after DATA more often than MAIL_TIMEOUT: no read times out,
    and only MAIL_SEND_DEADLINE frees the thread. After DATA: uncertain, not resent."""
    server = TricklingSMTP(every=MAIL_TIMEOUT / 5).start()
    app = worker_app_for(server.port, outbox_url, mail_send_deadline=MAIL_TIMEOUT * 2)
    event = make_event()
    try:
        assert run(app, event).result == "uncertain"
        assert wait_until(lambda: server.dropped == 1, 10)
    finally:
        app.extensions["smtp_pool"].close()
        app.extensions["delivery_engine"].dispose()
        server.stop()
    row = event_row(outbox_engine, event.event_id)
    assert (row.status, row.attempts, server.messages) == ("uncertain", 1, 1)
    assert "MAIL_SEND_DEADLINE" in row.last_error
    assert outcomes(caplog) == ["uncertain"]
