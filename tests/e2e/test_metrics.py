"""The Prometheus metrics of the running stack: each process serves its own on
METRICS_BIND, never through nginx, and the outbox gauges follow the emails as they
wait for a worker and then go out."""

from __future__ import annotations

import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.bookshelf_client import BookshelfUser
from devstack.mailhog import MailHogClient
from devstack.process import wait_until
from devstack.stack import LocalStack
from tests.e2e.support import StackUrls

# It stops the worker of the shared stack for a while: conftest runs it after the others.
RUNS_LAST = True
DEADLINE_S = 30.0
BOOKS = 3

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def local(stack: StackUrls) -> LocalStack:
    if stack.local is None:
        pytest.skip(f"scrapes the processes' own metrics ports: local stack only, not {stack.mode}")
    return stack.local


def scrape(local: LocalStack, service: str) -> Samples:
    reply = requests.get(local.metrics_url(service), timeout=5)
    reply.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def outbox(local: LocalStack, status: str) -> tuple[float, float]:
    """(count, age of the oldest) of the emails in `status`, as the relay reports them."""
    samples = scrape(local, "outbox-relay")
    assert value(samples, "bookshelf_outbox_up") == 1
    return (
        value(samples, "bookshelf_outbox_events", status=status),
        value(samples, "bookshelf_outbox_oldest_event_age_seconds", status=status),
    )


def test_metrics_are_not_served_through_nginx(stack: StackUrls) -> None:
    reply = requests.get(f"{stack.base_url}/metrics", timeout=5)
    assert reply.status_code == 404
    assert "bookshelf_http_requests" not in reply.text


def test_the_web_counts_requests_by_endpoint_across_gunicorn_workers(
    local: LocalStack, user: BookshelfUser
) -> None:
    before = value(
        scrape(local, "web"),
        "bookshelf_http_requests_total",
        endpoint="/books/new",
        method="POST",
        status="302",
    )
    for n in range(BOOKS):
        user.add_book(title=f"Métricas {n} {uuid.uuid4().hex[:6]}", author="Prometeo")
    after = scrape(local, "web")
    total = value(
        after, "bookshelf_http_requests_total", endpoint="/books/new", method="POST", status="302"
    )
    assert total - before == BOOKS
    latency = value(
        after, "bookshelf_http_request_duration_seconds_count", endpoint="/books/new", method="POST"
    )
    assert latency >= BOOKS


def test_outbox_gauges_follow_emails_that_wait_then_go_out(
    local: LocalStack, mailhog: MailHogClient, user: BookshelfUser
) -> None:
    queued_before, _ = outbox(local, "queued")
    local.stop_service("worker")
    try:
        for n in range(BOOKS):
            user.add_book(title=f"En cola {n} {uuid.uuid4().hex[:6]}", author="Prometeo")
        # The relay publishes them; nobody claims them: 'queued', and getting older.
        assert wait_until(lambda: outbox(local, "queued")[0] >= queued_before + BOOKS, DEADLINE_S)
        first_age = outbox(local, "queued")[1]
        assert wait_until(lambda: outbox(local, "queued")[1] > first_age, DEADLINE_S)
    finally:
        local.start_service("worker")

    mailhog.wait_for(user.account.email, BOOKS, timeout=DEADLINE_S)
    assert wait_until(lambda: outbox(local, "queued")[0] <= queued_before, DEADLINE_S)
    # The worker was restarted: its counters start from zero, so these are these emails.
    after = scrape(local, "worker")
    assert value(after, "bookshelf_emails_total", kind="added", outcome="sent") >= BOOKS
    assert value(after, "bookshelf_smtp_send_seconds_count", result="ok") >= BOOKS


def test_the_worker_reports_the_queue_depth(local: LocalStack) -> None:
    samples = scrape(local, "worker")
    assert value(samples, "bookshelf_broker_up") == 1
    assert ("bookshelf_queue_messages", frozenset({("queue", "email")})) in samples
