"""Benchmark (not a test): the add-book JSON API over real HTTP, through nginx, on a
LocalStack (Postgres, broker, MailHog, gunicorn, Celery worker, nginx as local processes).

    .venv/bin/python -m bench.http_stack [--quick] [--requests N] ...

1. Latency and throughput of POST /api/v1/books (insert + outbox row + publish to the
   broker: the real path) and of GET /api/v1/books (no write, the baseline), at
   concurrency 1 and 4, after a warm-up (gunicorn's first requests are slow).
2. Email latency at a steady rate (paced, not a burst): from the 201 to MailHog's
   `Created` for that message, matched by Message-ID (derived from the event id).
3. The broker stopped half way through a run of adds: adds still answer 201, and
   their outbox rows stay 'pending' (until an outbox relay, if the stack runs one,
   re-sends them once the broker is back).
4. POST at concurrency 1 straight to gunicorn (no nginx), with the real dispatch and
   with a second gunicorn whose dispatch does nothing: the dispatch's cost over HTTP.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from bench import broker_down, no_dispatch
from bench.cli import Figures, Option, Row, run_alone
from bench.load import ApiClient, Run, closed_loop, paced
from bench.mailbox import delivery, event_ids, wait_for_emails
from bench.stats import describe, latency_ms
from devstack.stack import LocalStack

NAME = "http_stack"
OPTIONS = [
    Option("requests", 300, 100, "requests per latency run (GET and POST, each at c=1 and c=4)"),
    Option("warmup", 60, 30, "warm-up requests of each kind before measuring"),
    Option("rate", 20.0, 20.0, "adds per second in the email-latency run"),
    Option("seconds", 10.0, 4.0, "length of the email-latency run, in seconds"),
    Option("broker-down-requests", 100, 40, "sequential adds; the broker stops after half"),
    Option("recovery-wait", 45.0, 30.0, "how long to wait for an outbox relay to re-send"),
    Option("time-limit", 60.0, 30.0, "upper bound of each load run, in seconds"),
]
CONCURRENCIES = (1, 4)


def log(message: str) -> None:
    print(f"[{NAME}] {message}", file=sys.stderr, flush=True)


def load_figures(run: Run) -> dict[str, Any]:
    return {
        "latency_ms": latency_ms([s.seconds for s in run.samples]),
        "throughput_per_s": round(run.throughput, 1),
        "statuses": run.statuses(),
    }


def latency_runs(client: ApiClient, args: argparse.Namespace) -> tuple[Figures, int]:
    """GET and POST at each concurrency; also how many emails those POSTs queued."""
    calls = {
        "GET": lambda session, _i: client.list_books(session),
        "POST": client.poster("load"),
    }
    queued = 0
    for method, call in calls.items():  # warm-up: both gunicorn workers, both paths
        warm = closed_loop(client, call, args.warmup, 4, args.time_limit)
        queued += len(event_ids(warm)) if method == "POST" else 0
    figures: Figures = {}
    for method, call in calls.items():
        for concurrency in CONCURRENCIES:
            run = closed_loop(client, call, args.requests, concurrency, args.time_limit)
            label = f"{method} c={concurrency}"
            figures[label] = load_figures(run)
            queued += len(event_ids(run)) if method == "POST" else 0
            log(f"{label}: {describe(figures[label]['latency_ms'])}")
    return figures, queued


def steady_email_run(stack: LocalStack, args: argparse.Namespace) -> Figures:
    client = ApiClient(stack.base_url, "steady")
    run = paced(client, client.poster("steady"), args.rate, args.seconds)
    figures = load_figures(run)
    figures["target_rate_per_s"] = args.rate
    figures["delivery"] = delivery(run, stack.mailhog_client(), client.email, timeout=60)
    log(f"email at {args.rate}/s: {describe(figures['delivery']['latency_ms'])}")
    return figures


def run(args: argparse.Namespace) -> Figures:
    figures: Figures = {"options": {k: v for k, v in vars(args).items() if k != "quick"}}
    log("starting a LocalStack…")
    stack = LocalStack(keep_workdir=True)  # removed below unless an email went missing
    with stack:
        figures["cold_start_seconds"] = round(stack.cold_start_seconds or 0.0, 2)
        load_client = ApiClient(stack.base_url, "load")
        figures["latency"], queued = latency_runs(load_client, args)
        # Let the worker drain the load runs' emails first: a backlog would inflate
        # the steady run's email latency.
        emails, waited = wait_for_emails(stack.mailhog_client(), load_client.email, queued, 120)
        figures["load_emails"] = {
            "expected": queued,
            "arrived": len(emails),
            "drain_seconds": round(waited, 2),
        }
        figures["steady_email"] = steady_email_run(stack, args)
        log("stopping the broker half way through a run of adds…")
        figures["broker_stopped"] = broker_down.measure(
            stack,
            ApiClient(stack.base_url, "down"),
            args.broker_down_requests,
            args.time_limit,
            recovery_wait=args.recovery_wait,
        )
        log("POST straight to gunicorn, with and without the dispatch…")
        figures["direct_to_gunicorn"] = no_dispatch.compare(
            stack, args.requests, args.warmup, args.time_limit
        )
    missing = emails_missing(figures)
    if missing:
        figures["logs_kept_in"] = str(stack.workdir)
        log(f"emails missing ({'; '.join(missing)}): service logs kept in {stack.workdir}")
    else:
        shutil.rmtree(stack.workdir, ignore_errors=True)
    return figures


def emails_missing(figures: Figures) -> list[str]:
    """Which parts of the run lost emails: the logs are worth keeping then."""
    down = figures["broker_stopped"]
    checks = {
        "load runs": (figures["load_emails"]["arrived"], figures["load_emails"]["expected"]),
        "paced run": (
            figures["steady_email"]["delivery"]["arrived"],
            figures["steady_email"]["delivery"]["expected"],
        ),
        "queued before the broker stopped": (
            down["emails_queued_before_stop"]["arrived"],
            down["emails_queued_before_stop"]["queued"],
        ),
    }
    if down["relay_running"]:
        checks["re-sent by the relay"] = (
            down["emails_of_adds_while_down"]["arrived"],
            down["emails_of_adds_while_down"]["added"],
        )
    return [f"{name}: {got}/{wanted}" for name, (got, wanted) in checks.items() if got < wanted]


def summary_rows(figures: Figures) -> list[Row]:
    rows: list[Row] = [("cold start of the stack", f"{figures['cold_start_seconds']} s")]
    for label, load in figures["latency"].items():
        rows.append(
            (
                f"{label} /api/v1/books",
                f"{describe(load['latency_ms'])}, {load['throughput_per_s']} req/s, "
                f"statuses {load['statuses']}",
            )
        )
    mails = figures["load_emails"]
    rows.append(("emails of those POSTs", f"{mails['arrived']}/{mails['expected']} arrived"))
    steady = figures["steady_email"]
    sent = steady["delivery"]
    rows += [
        (
            f"paced adds at {steady['target_rate_per_s']}/s",
            f"{describe(steady['latency_ms'])}, achieved {steady['throughput_per_s']}/s",
        ),
        ("  201 -> email in MailHog", describe(sent["latency_ms"])),
        (
            "  emails arrived",
            f"{sent['arrived']}/{sent['expected']}, duplicates {sent['duplicates']}",
        ),
    ]
    down = figures["broker_stopped"]
    for key in ("broker_up", "broker_down"):
        part = down[key]
        rows.append(
            (
                f"POST, {key.replace('_', ' ')} (c=1)",
                f"{describe(part['latency_ms'])}, statuses {part['statuses']}, "
                f"queued {part['queued']}, not queued {part['not_queued']}",
            )
        )
    rows += [
        ("  first three adds after the stop", f"{down['broker_down']['first_three_ms']} ms"),
        ("  outbox rows while down", str(down["outbox_while_down"])),
        (
            "  after the broker is back",
            f"{down['outbox_after_broker_back']} (relay running: {down['relay_running']}, "
            f"waited {down['waited_after_broker_back_seconds']} s)",
        ),
        (
            "  emails of the adds before the stop",
            f"{down['emails_queued_before_stop']['arrived']}"
            f"/{down['emails_queued_before_stop']['queued']} arrived",
        ),
        (
            "  emails of the adds while down",
            f"{down['emails_of_adds_while_down']['arrived']}"
            f"/{down['emails_of_adds_while_down']['added']} arrived",
        ),
    ]
    direct = figures["direct_to_gunicorn"]
    for label in ("with_dispatch", "no_dispatch"):
        part = direct[label]
        rows.append(
            (
                f"POST c=1 to gunicorn, {label.replace('_', ' ')}",
                f"{describe(part['latency_ms'])}, {part['throughput_per_s']} req/s, "
                f"statuses {part['statuses']}",
            )
        )
    rows.append(("  dispatch cost (difference of p50s)", f"{direct['dispatch_cost_p50_ms']} ms"))
    if "logs_kept_in" in figures:
        rows.append(("EMAILS MISSING: service logs kept in", figures["logs_kept_in"]))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    return run_alone(NAME, __doc__ or NAME, OPTIONS, run, summary_rows, argv)


if __name__ == "__main__":
    raise SystemExit(main())
