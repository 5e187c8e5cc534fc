"""The web request's id (a Celery message header) reaches every email outcome line."""

from __future__ import annotations

from typing import Any

import pytest
from celery.result import EagerResult
from flask import Flask

from bookshelf_tasks import BOOK_ADDED, BookEvent
from bookshelf_tasks.names import REQUEST_ID_HEADER
from services.worker.tests.support import MakeEvent, ScriptedSMTPHandler, email_lines, run_task


def run(app: Flask, event: BookEvent, headers: dict[str, Any] | None) -> EagerResult:
    return run_task(app, BOOK_ADDED, event.to_dict(), headers=headers)


def outcome_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    """(outcome, request_id field, formatted message) of each email outcome line."""
    return [
        (line.fields["outcome"], line.fields["request_id"], line.message)
        for line in email_lines(caplog)
    ]


def test_the_sent_line_carries_the_request_id(
    worker_app: Flask, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    event = make_event()
    result = run(worker_app, event, {REQUEST_ID_HEADER: "abc12345-valid"})

    assert result.state == "SUCCESS", result.traceback
    [(outcome, request_id, line)] = outcome_lines(caplog)
    assert (outcome, request_id) == ("sent", "abc12345-valid")
    assert line == (
        f"email outcome=sent event_id={event.event_id} task_id={result.id} attempt=1"
        " request_id=abc12345-valid"
    )


def test_retries_keep_the_request_id(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_handler.data_replies = ["451 4.3.0 try again later", "250 OK"]
    result = run(worker_app, make_event(), {REQUEST_ID_HEADER: "abc12345-retry"})

    assert result.state == "SUCCESS", result.traceback
    lines = outcome_lines(caplog)
    assert [(outcome, request_id) for outcome, request_id, _ in lines] == [
        ("retrying", "abc12345-retry"),
        ("sent", "abc12345-retry"),
    ]
    assert "attempt=1 request_id=abc12345-retry failure=transient" in lines[0][2]


def test_a_permanent_failure_line_carries_it_too(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_handler.data_replies = ["554 5.7.1 rejected"]
    run(worker_app, make_event(), {REQUEST_ID_HEADER: "abc12345-failed"})
    [(outcome, request_id, _)] = outcome_lines(caplog)
    assert (outcome, request_id) == ("failed", "abc12345-failed")


@pytest.mark.parametrize(
    "headers",
    [None, {}, {REQUEST_ID_HEADER: "bad id\r\nINFO forged line"}, {REQUEST_ID_HEADER: 42}],
)
def test_a_missing_or_malformed_request_id_logs_a_dash(
    worker_app: Flask,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, Any] | None,
) -> None:
    result = run(worker_app, make_event(), headers)

    assert result.state == "SUCCESS", result.traceback
    [(outcome, request_id, line)] = outcome_lines(caplog)
    assert (outcome, request_id) == ("sent", "-")
    assert line.endswith(" request_id=-")
