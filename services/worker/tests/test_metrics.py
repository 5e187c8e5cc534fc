"""The worker's metrics: each task run counted by kind and outcome, each SMTP send
timed, and the email queue's depth read from a real broker at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from bookshelf_tasks import BOOK_ADDED, BOOK_DELETED
from bookshelf_worker.config import WorkerSettings
from bookshelf_worker.metrics import QueueCollector
from devstack.broker import BrokerServer
from devstack.ports import free_port
from services.worker.tests.support import MakeEvent, ScriptedSMTPHandler, run_task


def emails(kind: str, outcome: str) -> float:
    labels = {"kind": kind, "outcome": outcome}
    return REGISTRY.get_sample_value("bookshelf_emails_total", labels) or 0.0


def smtp_sends(result: str) -> float:
    labels = {"result": result}
    return REGISTRY.get_sample_value("bookshelf_smtp_send_seconds_count", labels) or 0.0


def test_a_sent_email_and_its_copy_are_counted_by_kind_and_outcome(
    worker_app: Flask, make_event: MakeEvent
) -> None:
    sent, skipped, timed = (
        emails("added", "sent"),
        emails("added", "duplicate-skipped"),
        smtp_sends("ok"),
    )
    event = make_event()
    for _copy in range(2):
        run_task(worker_app, BOOK_ADDED, event.to_dict(), task_id=event.event_id)
    assert emails("added", "sent") == sent + 1
    assert emails("added", "duplicate-skipped") == skipped + 1
    assert smtp_sends("ok") == timed + 1  # the copy never reached SMTP


def test_a_refused_email_is_counted_failed_and_its_send_timed_as_an_error(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    smtp_handler.data_replies = ["550 mailbox unavailable"]
    failed, errors = emails("deleted", "failed"), smtp_sends("error")
    event = make_event(kind="deleted")
    assert run_task(worker_app, BOOK_DELETED, event.to_dict()).result == "failed"
    assert emails("deleted", "failed") == failed + 1
    assert smtp_sends("error") == errors + 1


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerServer]:
    server = BrokerServer(tmp_path / "broker").start()
    yield server
    server.stop()


def test_the_queue_depth_counts_every_priority_list_and_the_unacked(broker: BrokerServer) -> None:
    client = redis.Redis.from_url(broker.url)
    client.lpush("email", "a", "b")
    client.lpush("email\x06\x163", "c")
    client.hset("unacked", "tag", "d")
    registry = CollectorRegistry()
    registry.register(QueueCollector(broker.url))
    exposed = generate_latest(registry).decode()
    assert "bookshelf_broker_up 1.0" in exposed
    assert 'bookshelf_queue_messages{queue="email"} 3.0' in exposed
    assert "bookshelf_queue_unacked_messages 1.0" in exposed


def test_the_queue_depth_says_when_the_broker_does_not_answer() -> None:
    registry = CollectorRegistry()
    registry.register(QueueCollector(f"redis://127.0.0.1:{free_port()}/0"))
    exposed = generate_latest(registry).decode()
    assert "bookshelf_broker_up 0.0" in exposed
    assert "bookshelf_queue_messages" not in exposed


REQUIRED = {
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "DATABASE_URL": "postgresql+psycopg2://x@127.0.0.1:1/x",
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_DEFAULT_SENDER": "Bookshelf <no-reply@bookshelf.test>",
}


def test_operations_settings_default_to_off() -> None:
    settings = WorkerSettings.from_env(REQUIRED)
    assert (settings.log_format, settings.metrics_bind, settings.sentry_dsn) == ("text", None, None)


def test_operations_settings_are_read() -> None:
    settings = WorkerSettings.from_env(
        {
            **REQUIRED,
            "LOG_FORMAT": "json",
            "METRICS_BIND": "0.0.0.0:9100",
            "SENTRY_DSN": "https://k@sentry.invalid/1",
        }
    )
    assert settings.log_format == "json"
    assert settings.metrics_bind == ("0.0.0.0", 9100)  # noqa: S104 - the container's
    assert settings.sentry_dsn == "https://k@sentry.invalid/1"
    assert "sentry.invalid" not in repr(settings)  # a DSN carries a key
