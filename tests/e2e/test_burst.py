"""A burst of 50 adds by one user: exactly 50 emails, distinct Message-IDs, and how long
each email took from the 201 to being visible in MailHog."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from bench.stats import percentile
from devstack.bookshelf_client import BookshelfUser
from devstack.mailbox import Mailbox
from tests.e2e.support import record_figure

BURST = 50


def test_burst_of_50_adds_delivers_50_distinct_emails(
    user: BookshelfUser, mailhog: Mailbox
) -> None:
    api = user.api(user.api_token())
    api.list_books().raise_for_status()  # warm the connection before timing
    run = uuid.uuid4().hex[:6]
    answered_at: dict[str, datetime] = {}

    began = time.perf_counter()
    for n in range(BURST):
        title = f"Ráfaga {run} nº{n:02d}"
        created = api.add_book(title=title, author="Autora Rápida")
        answered_at[title] = datetime.now(UTC)
        assert created.status_code == 201, created.text
    burst_seconds = time.perf_counter() - began

    emails = mailhog.wait_for(user.account.email, BURST, timeout=60)
    delivered_seconds = time.perf_counter() - began

    assert len(emails) == BURST
    assert len({e.message_id for e in emails}) == BURST
    assert all(e.message_id for e in emails)
    latency_ms: dict[str, float] = {}
    for email in emails:
        (title,) = [t for t in answered_at if t in email.subject]
        visible_after = datetime.fromtimestamp(email.created, UTC) - answered_at[title]
        latency_ms[title] = visible_after.total_seconds() * 1000
    assert sorted(latency_ms) == sorted(answered_at)
    latencies_ms = list(latency_ms.values())
    in_add_order = [latency_ms[title] for title in answered_at]

    record_figure(
        "burst_response_to_email_visible_ms",
        {
            "adds": BURST,
            "p50": round(percentile(latencies_ms, 0.50), 1),
            "p99": round(percentile(latencies_ms, 0.99), 1),
            "max": round(max(latencies_ms), 1),
            "first_three": [round(ms, 1) for ms in in_add_order[:3]],
            "burst_seconds": round(burst_seconds, 2),
            "all_delivered_seconds": round(delivered_seconds, 2),
        },
    )
