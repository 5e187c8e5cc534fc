"""Benchmark (not a test): resident memory of each service of a running LocalStack,
idle and after a burst of adds (every email delivered), summed over each process tree
(gunicorn master + workers, celery main + pool, the postmaster + backends, nginx
master + workers, the outbox relay).

    .venv/bin/python -m bench.memory [--quick] [--burst 500]

RSS counts the pages that forked workers share once per process; PSS splits them
among the sharers, so PSS is what adds up (see bench/proc_tree.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.account import UNLIMITED
from bench.cli import Figures, Option, Row, run_alone
from bench.hey import run_hey
from bench.load import ApiClient
from bench.mailbox import wait_for_count
from bench.proc_tree import tree_memory
from bench.stack_parts import managed_processes, postmaster_pid
from devstack.stack import LocalStack

NAME = "memory"
OPTIONS = [
    Option("burst", 500, 100, "adds in the burst (concurrency 4, as fast as they go)"),
    Option("settle", 2.0, 1.0, "seconds to let the services settle before each reading"),
]


def service_roots(stack: LocalStack) -> dict[str, int]:
    """service name -> pid of its top process."""
    roots = {"postgres": postmaster_pid(stack)}
    for name, process in managed_processes(stack).items():
        if process.proc is not None:
            roots[name] = process.proc.pid
    return roots


def reading(stack: LocalStack) -> dict[str, Any]:
    services = {name: tree_memory(pid) for name, pid in service_roots(stack).items()}
    figures: dict[str, Any] = {name: memory.as_mib() for name, memory in services.items()}
    figures["total"] = {
        "processes": sum(m.processes for m in services.values()),
        "rss_mib": round(sum(m.rss_kib for m in services.values()) / 1024, 1),
        "pss_mib": round(sum(m.pss_kib for m in services.values()) / 1024, 1),
    }
    return figures


def run(args: argparse.Namespace) -> Figures:
    print(f"[{NAME}] starting a LocalStack…", file=sys.stderr, flush=True)
    with LocalStack(env_overrides=UNLIMITED) as stack:
        time.sleep(args.settle)
        idle = reading(stack)
        client = ApiClient(stack.base_url, stack.mailbox(), "memory")
        burst = run_hey(
            client.books_url, requests=args.burst, concurrency=4, time_limit=120,
            token=client.token, json_body=client.book("burst"),
        )  # fmt: skip
        waited = wait_for_count(stack.mailbox(), client.email, burst.ok, 120)
        emails = stack.mailbox().messages_to(client.email)
        time.sleep(args.settle)
        after = reading(stack)
    return {
        "burst": {
            "adds": len(burst.seconds),
            "statuses": burst.statuses,
            "seconds": round(burst.wall_seconds, 2),
            "emails_arrived": len(emails),
            "emails_expected": burst.ok,
            "emails_drained_after_seconds": round(waited, 2),
        },
        "idle": idle,
        "after_burst": after,
    }


def summary_rows(figures: Figures) -> list[Row]:
    burst = figures["burst"]
    rows: list[Row] = [
        (
            "burst",
            f"{burst['adds']} adds in {burst['seconds']} s, statuses {burst['statuses']}, "
            f"emails {burst['emails_arrived']}/{burst['emails_expected']}",
        )
    ]
    for service, idle in figures["idle"].items():
        after = figures["after_burst"].get(service, {})
        rows.append(
            (
                f"{service} ({idle['processes']} proc)",
                f"RSS {idle['rss_mib']} -> {after.get('rss_mib')} MiB, "
                f"PSS {idle['pss_mib']} -> {after.get('pss_mib')} MiB (idle -> after burst)",
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    return run_alone(NAME, __doc__ or NAME, OPTIONS, run, summary_rows, argv)


if __name__ == "__main__":
    raise SystemExit(main())
