"""MailHog, read by the benchmarks: when each email arrived, counted per Message-ID."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.load import Run
from bench.stats import latency_ms
from devstack.mailbox import Email, Mailbox


def mailhog_created_at(email: Email) -> float:
    """When the catcher received the email (its `Created`), as a Unix time."""
    return email.created


def event_id_of(email: Email) -> str:
    """The event id in the worker's Message-ID, `<event_id@bookshelf>`."""
    return email.message_id.strip("<>").split("@", 1)[0]


def count_to(mailhog: Mailbox, address: str) -> int:
    """How many messages the catcher holds for `address`: cheap enough to poll while a
    worker sends (the full list is fetched once, at the end)."""
    return mailhog.count_to(address)


def wait_for_count(
    mailhog: Mailbox, address: str, count: int, timeout: float, interval: float = 0.25
) -> float:
    """Poll until `address` has `count` messages or `timeout` passes; the time waited."""
    began = time.monotonic()
    while count_to(mailhog, address) < count and time.monotonic() - began < timeout:
        time.sleep(interval)
    return time.monotonic() - began


def drain_rate(emails: list[Email]) -> float:
    """Emails per second from the first arrival to the last (MailHog's `Created`): the
    rate of the stream itself, whatever the sender did before its first message."""
    arrivals = sorted(mailhog_created_at(email) for email in emails)
    if len(arrivals) < 2 or arrivals[-1] == arrivals[0]:
        return 0.0
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


def answered_events(run: Run) -> dict[str, float]:
    """event id -> when its 201 was read, for every add that answered 201."""
    return {
        sample.body["notification"]["event_id"]: sample.answered_at
        for sample in run.samples
        if sample.status == 201 and sample.body and "notification" in sample.body
    }


def delivery(run: Run, mailhog: Mailbox, address: str, timeout: float) -> dict[str, Any]:
    """Wait for every 201's email; the latency from the 201 to MailHog's `Created`, and
    the emails lost (never arrived) and doubled (more than one per Message-ID)."""
    answered = answered_events(run)
    waited = wait_for_count(mailhog, address, len(answered), timeout)
    emails = mailhog.messages_to(address)
    per_message_id = Counter(email.message_id for email in emails)
    arrived: dict[str, float] = {}
    for email in emails:
        event_id = event_id_of(email)
        if event_id in answered:
            arrived[event_id] = min(arrived.get(event_id, float("inf")), mailhog_created_at(email))
    seconds = [arrived[event] - answered[event] for event in arrived]
    return {
        "expected": len(answered),
        "arrived": len(arrived),
        "lost": len(answered) - len(arrived),
        "doubled": sum(count - 1 for count in per_message_id.values()),
        "waited_seconds": round(waited, 2),
        "latency_ms": latency_ms(seconds),
    }
