"""What the email path costs the add-book request (P1, P6) and how soon the email follows
the 201 (P4), on a running LocalStack, through nginx.

P1/P6 alternate two states of the same stack: the email path live (relay and worker
running) and a no-op (both stopped with stack.stop_service: the add does the same
work, the book and its outbox row in one commit, and nothing is published or sent).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from bench import memory
from bench.hey import run_hey
from bench.load import ApiClient, paced
from bench.mailbox import delivery
from bench.stack_ops import Outbox, cpu_ms_per, cpu_reading, email_path_off, email_path_on
from devstack.stack import EMAIL_NICENESS, LocalStack

CONCURRENCIES = (1, 8)
P4_RATE = 50.0
# P1/P6's states: the relay's and worker's niceness, None for the email path off.
# "live" is the stack as it runs (the email path yields the cores to requests);
# "equal" the same at the same CPU share as web (issue 10, item 4: measured both ways).
STATES: dict[str, int | None] = {"live": EMAIL_NICENESS, "equal": 0, "noop": None}


STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[goals {time.monotonic() - STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def add_run(
    stack: LocalStack,
    client: ApiClient,
    outbox: Outbox,
    *,
    requests: int,
    concurrency: int,
    time_limit: float,
    email_live: bool,
) -> dict[str, Any]:
    """`requests` adds at `concurrency` through nginx (hey). With the email path live,
    the CPU reading ends once every email is settled, so each service's CPU per add
    includes the emails of these adds."""
    load = load_average()
    before = cpu_reading(stack)
    run = run_hey(
        client.books_url,
        requests=requests,
        concurrency=concurrency,
        time_limit=time_limit,
        token=client.token,
        json_body=client.book(f"c{concurrency}"),
    )
    settle = outbox.settle(time_limit) if email_live else 0.0
    after = cpu_reading(stack)
    return {
        **run.summary(),
        "load_before": load,
        "settle_seconds": round(settle, 2),
        "cpu_ms_per_add": cpu_ms_per(before, after, run.ok),
    }


def warm_up(stack: LocalStack, client: ApiClient, outbox: Outbox, args: argparse.Namespace) -> None:
    """gunicorn's first requests are slow (imports, connections): not measured."""
    add_run(
        stack, client, outbox, requests=60, concurrency=4, time_limit=args.time_limit,
        email_live=True,
    )  # fmt: skip


def p1_p6(
    stack: LocalStack,
    live: ApiClient,
    noop: ApiClient,
    outbox: Outbox,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Each state of STATES in turn, `args.reps` times (A, B, C, A, B, C ...); each
    state runs c=1 and then c=8. Leaves the email path off, and its niceness as the
    stack runs it. Also reads the stack's memory after the last live state (every
    email delivered)."""
    runs: dict[str, list[dict[int, dict[str, Any]]]] = {state: [] for state in STATES}
    figures: dict[str, Any] = {"runs": runs}
    email_path_off(stack)
    for rep in range(args.reps):
        for state, niceness in STATES.items():
            if niceness is not None:
                email_path_on(stack, niceness)
            runs[state].append(
                {
                    c: add_run(
                        stack,
                        noop if niceness is None else live,
                        outbox,
                        requests=args.p1_requests * (1 if c == 1 else 2),
                        concurrency=c,
                        time_limit=args.time_limit,
                        email_live=niceness is not None,
                    )
                    for c in CONCURRENCIES
                }
            )
            done = runs[state][-1]
            shown = (
                f"c={c} p50 {r['p50_ms']} ms {r['throughput_per_s']}/s" for c, r in done.items()
            )
            log(f"P1/P6 {rep + 1}/{args.reps} {state}: {', '.join(shown)}")
            if niceness is not None:
                if rep == args.reps - 1 and state == "live":
                    figures["memory_after"] = memory.reading(stack)
                email_path_off(stack)
        # The no-op adds' rows would be published as soon as the relay is back: their
        # emails are not wanted, and would load the next live run.
        outbox.delete_unsent(noop.email)
    stack.relay.niceness = stack.worker.process.niceness = STATES["live"] or 0
    return figures


def p4(
    stack: LocalStack, client: ApiClient, outbox: Outbox, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Adds paced at 50/s (one due every 20 ms, sent by 4 Python senders: each 201's
    arrival time is needed), then every email awaited: 201 -> MailHog's Created, lost,
    doubled. Per repetition twice: the email path at its lower CPU share ("live"),
    then at web's ("equal"). Leaves it running at the lower share."""
    mailhog = stack.mailbox()
    results: list[dict[str, Any]] = []
    for rep in range(args.reps):
        for state in ("live", "equal"):
            email_path_off(stack)
            email_path_on(stack, STATES[state])
            load = load_average()
            run = paced(client, client.poster(f"steady-{rep}-{state}"), P4_RATE, args.p4_seconds)
            sent = delivery(run, mailhog, client.email, timeout=30)
            results.append(
                {
                    "state": state,
                    "load_before": load,
                    "adds": len(run.samples),
                    "statuses": run.statuses(),
                    "achieved_per_s": round(run.throughput, 1),
                    **sent,
                }
            )
            latency = sent["latency_ms"]
            log(
                f"P4 {rep + 1}/{args.reps} {state}: p50 {latency.get('p50')} "
                f"p99 {latency.get('p99')} ms, lost {sent['lost']}, doubled {sent['doubled']}"
            )
            outbox.settle(args.time_limit)
            mailhog.delete_all()  # keeps MailHog's searches fast for the next runs
    email_path_off(stack)
    email_path_on(stack, STATES["live"])
    return results
