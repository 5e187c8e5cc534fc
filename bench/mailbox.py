"""When each email reached MailHog, measured from the 201 that queued it."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from bench.load import Run
from bench.stats import latency_ms
from devstack.mailhog import Email, MailHogClient

RFC3339 = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$")


def mailhog_created_at(email: Email) -> float:
    """MailHog's `Created` as a Unix time. It is RFC 3339 with nanoseconds and their
    trailing zeros trimmed, which fromisoformat only takes once cut or padded to 6 digits."""
    found = RFC3339.match(str(email.raw["Created"]))
    if found is None:
        raise ValueError(f"unexpected MailHog timestamp {email.raw['Created']!r}")
    fraction = (found["fraction"] or "").ljust(6, "0")[:6]
    zone = "+00:00" if found["zone"] == "Z" else found["zone"]
    return datetime.fromisoformat(f"{found['base']}.{fraction}{zone}").timestamp()


def event_id_of(email: Email) -> str:
    """The event id in the worker's Message-ID, `<event_id@bookshelf>`."""
    return email.message_id.strip("<>").split("@", 1)[0]


def wait_for_events(
    mailhog: MailHogClient, address: str, event_ids: set[str], timeout: float
) -> tuple[set[str], float]:
    """Poll until every one of `event_ids` has its email at `address`, or `timeout`
    passes; return the ones that arrived and how long the wait took."""
    began = time.monotonic()
    while True:
        arrived = {event_id_of(email) for email in mailhog.messages_to(address)} & event_ids
        waited = time.monotonic() - began
        if arrived == event_ids or waited >= timeout:
            return arrived, waited
        time.sleep(0.1)


def wait_for_emails(
    mailhog: MailHogClient, address: str, count: int, timeout: float
) -> tuple[list[Email], float]:
    """Poll until `address` has `count` emails or `timeout` passes; return what arrived
    and how long the wait took."""
    began = time.monotonic()
    while True:
        emails = mailhog.messages_to(address)
        waited = time.monotonic() - began
        if len(emails) >= count or waited >= timeout:
            return emails, waited
        time.sleep(0.1)


def event_ids(run: Run) -> dict[str, float]:
    """event id -> when its 201 was read, for the adds whose email was queued."""
    return {
        sample.body["notification"]["event_id"]: sample.answered_at
        for sample in run.samples
        if sample.status == 201 and sample.body and sample.body["notification"]["queued"]
    }


def delivery(run: Run, mailhog: MailHogClient, address: str, timeout: float) -> dict[str, Any]:
    """Wait for every queued add's email; latency from the 201 to MailHog's `Created`."""
    answered = event_ids(run)
    emails, waited = wait_for_emails(mailhog, address, len(answered), timeout)
    arrived: dict[str, float] = {}
    for email in emails:
        event_id = event_id_of(email)
        if event_id in answered:
            arrived.setdefault(event_id, mailhog_created_at(email))
    seconds = [arrived[event] - answered[event] for event in arrived]
    return {
        "expected": len(answered),
        "arrived": len(arrived),
        "duplicates": len(emails) - len({email.message_id for email in emails}),
        "all_arrived": len(arrived) == len(answered),
        "waited_seconds": round(waited, 2),
        "latency_ms": latency_ms(seconds),
        "min_ms": round(min(seconds) * 1000, 2) if seconds else None,
    }
