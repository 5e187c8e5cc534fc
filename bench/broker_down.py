"""Adds while the broker dies: the request must still answer 201 quickly, and the
email events must stay 'pending' in the outbox (nothing is lost, nothing is sent)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import create_engine, text

from bench.load import ApiClient, Run, timed
from bench.mailbox import event_ids, wait_for_events
from bench.stack_parts import relay_of
from bench.stats import latency_ms
from devstack.stack import LocalStack


def outbox_statuses(database_url: str, event_ids: list[str]) -> dict[str, int]:
    """How many of these email events are in each outbox status."""
    if not event_ids:
        return {}
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT status, count(*) FROM email_events WHERE id = ANY(:ids) GROUP BY 1"),
                {"ids": event_ids},
            )
            return {str(status): int(count) for status, count in rows}
    finally:
        engine.dispose()


def sequential_adds_with_broker_stop(
    stack: LocalStack, client: ApiClient, count: int, time_limit: float
) -> tuple[Run, Run, float]:
    """`count` sequential adds; the broker is stopped after the first half."""
    before, after = Run(), Run()
    session = client.session()
    deadline = time.monotonic() + time_limit
    stop_seconds = 0.0
    began = time.perf_counter()
    for index in range(count):
        if time.monotonic() >= deadline:
            break
        if index == count // 2:
            before.wall_seconds = time.perf_counter() - began
            stopping = time.perf_counter()
            stack.stop_service("broker")  # its supervisor leaves it down
            stop_seconds = time.perf_counter() - stopping
            began = time.perf_counter()
        sample = timed(client.poster("down"), session, index)
        (before if index < count // 2 else after).samples.append(sample)
    after.wall_seconds = time.perf_counter() - began
    return before, after, stop_seconds


def phase(run: Run) -> dict[str, Any]:
    queued = [s.body["notification"]["queued"] for s in run.samples if s.body and s.status == 201]
    return {
        "latency_ms": latency_ms([s.seconds for s in run.samples]),
        "throughput_per_s": round(run.throughput, 1),
        "statuses": run.statuses(),
        "queued": sum(queued),
        "not_queued": len(queued) - sum(queued),
        "first_three_ms": [round(s.seconds * 1000, 1) for s in run.samples[:3]],
    }


def created_events(run: Run) -> set[str]:
    return {s.body["notification"]["event_id"] for s in run.samples if s.body and s.status == 201}


def measure(
    stack: LocalStack, client: ApiClient, count: int, time_limit: float, recovery_wait: float
) -> dict[str, Any]:
    before, after, stop_seconds = sequential_adds_with_broker_stop(stack, client, count, time_limit)
    queued_before, added_while_down = event_ids(before).keys(), created_events(after)
    database_url = stack.env["DATABASE_URL"]
    figures: dict[str, Any] = {
        "broker_up": phase(before),
        "broker_down": phase(after),
        "broker_stop_seconds": round(stop_seconds, 2),
        "outbox_while_down": outbox_statuses(database_url, list(added_while_down)),
    }
    # Bring the broker back on its port, so the worker reconnects and stops cleanly.
    # Only a relay re-sends what stayed pending; without one the rows wait for a
    # retry from the notifications page, so only the emails queued before the stop
    # are awaited. One of those that never comes was lost with the broker (it keeps
    # its queue in an append-only file, fsynced every second), and its outbox row
    # already says 'queued'.
    stack.start_service("broker")
    relay = relay_of(stack)
    awaited = set(queued_before) | (added_while_down if relay is not None else set())
    wait = recovery_wait if relay is not None else min(recovery_wait, 10.0)
    arrived, waited = wait_for_events(stack.mailhog_client(), client.email, awaited, wait)
    figures.update(
        relay_running=relay is not None,
        outbox_after_broker_back=outbox_statuses(database_url, list(added_while_down)),
        waited_after_broker_back_seconds=round(waited, 2),
        emails_queued_before_stop={
            "queued": len(queued_before),
            "arrived": len(arrived & set(queued_before)),
            "lost_outbox_statuses": outbox_statuses(
                database_url, list(set(queued_before) - arrived)
            ),
        },
        emails_of_adds_while_down={
            "added": len(added_while_down),
            "arrived": len(arrived & added_while_down),
        },
    )
    return figures
