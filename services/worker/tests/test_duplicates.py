"""A second message for an event that was already delivered sends nothing.

The web's relay re-publishes a 'queued' event whose task has no state after a while
(the broker lost it, or it only waited long): the second copy must find the first
one's sent-marker. Real SMTP (aiosmtpd) and a real Redis result backend; eager runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis
from celery.result import EagerResult
from flask import Flask

from bookshelf_tasks import BOOK_ADDED, BookEvent
from bookshelf_tasks.celery_config import RESULT_EXPIRES
from bookshelf_worker.app import create_app
from bookshelf_worker.config import WorkerSettings
from bookshelf_worker.sent_markers import marker_key
from devstack.broker import BrokerServer
from devstack.ports import free_port

from .conftest import ScriptedSMTPHandler  # type: ignore[import-not-found]

MakeEvent = Callable[..., BookEvent]


def run(app: Flask, event: BookEvent) -> EagerResult:
    task = app.extensions["celery"].tasks[BOOK_ADDED]
    return task.apply(kwargs={"event": event.to_dict()}, task_id=event.event_id)


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.email["outcome"] for r in caplog.records if hasattr(r, "email")]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _capture_email_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bookshelf_worker.email")


def test_a_second_run_of_a_delivered_event_is_skipped(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    results_redis: BrokerServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = make_event()
    first, second = run(worker_app, event), run(worker_app, event)

    assert (first.state, first.result) == ("SUCCESS", "sent")
    assert (second.state, second.result) == ("SUCCESS", "duplicate-skipped")
    assert len(smtp_handler.delivered) == 1
    assert outcomes(caplog) == ["sent", "duplicate-skipped"]
    skipped = next(r for r in caplog.records if "duplicate-skipped" in r.getMessage())
    assert f"event_id={event.event_id}" in skipped.getMessage()
    # The marker lives as long as the task states, then Redis drops it.
    client = redis.Redis.from_url(results_redis.url)
    assert 0 < client.ttl(marker_key(event.event_id)) <= RESULT_EXPIRES
    client.close()


def test_another_event_is_not_taken_for_a_duplicate(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    run(worker_app, make_event())
    assert run(worker_app, make_event()).result == "sent"
    assert len(smtp_handler.delivered) == 2


def test_a_failed_send_leaves_no_marker_so_a_redelivery_sends(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    smtp_handler.data_replies = ["550 mailbox unavailable", "250 OK"]
    event = make_event()
    assert run(worker_app, event).state == "FAILURE"
    assert run(worker_app, event).result == "sent"
    assert len(smtp_handler.delivered) == 1


def test_an_unreadable_marker_does_not_stop_the_email(
    smtp: tuple[ScriptedSMTPHandler, int], make_event: MakeEvent, caplog: Any
) -> None:
    """At least once: with the result backend down the email is still sent."""
    handler, port = smtp
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(
        WorkerSettings(
            broker_url=nowhere,
            result_backend=nowhere,
            mail_server="127.0.0.1",
            mail_port=port,
            mail_default_sender="Bookshelf <no-reply@bookshelf.test>",
            mail_timeout=1.0,
        )
    )
    event = make_event()
    assert run(app, event).result == "sent"
    assert run(app, event).result == "sent"  # no marker could be kept: sent again
    assert len(handler.delivered) == 2
    assert "sent-marker of event" in caplog.text
