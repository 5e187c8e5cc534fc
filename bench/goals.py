"""Benchmark (not a test): the goals P1-P6 of issue 10 and the scale-out, on one
LocalStack (nginx → gunicorn → Postgres; outbox relay → broker → Celery worker →
MailHog), plus its cold start and memory. Definitions: bench/README.md.

    .venv/bin/python -m bench.goals [--quick] [--reps 3] ...

Each ratio is of two things run alternately in the same run (A, B, A, B, A, B), with the
1-minute load average recorded before each; the value is the median over repetitions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from bench import memory
from bench.account import UNLIMITED
from bench.cli import Figures, Option, parse
from bench.goal_table import GoalRow, number, render
from bench.load import ApiClient
from bench.request_path import log, p1_p6, p4, warm_up
from bench.smtp_sink import SlowSMTPServer
from bench.stack_ops import Outbox, in_parallel
from bench.stats import machine as stats_machine
from bench.stats import save
from bench.sync_mail import SyncMailWeb, p2
from bench.throughput import SCALE_OUT, p2_with_a_worker, p3, scale_out
from devstack.gunicorn import REPO
from devstack.stack import EMAIL_NICENESS, LocalStack

NAME = "goals"
OPTIONS = [
    Option("reps", 3, 1, "repetitions of every measurement (A, B alternately)"),
    Option("p1-requests", 300, 100, "P1/P6: adds per run at c=1 (twice as many at c=8)"),
    Option("p2-requests", 200, 50, "P2: adds per run through the stack, at c=1"),
    Option("p2-sync-requests", 50, 15, "P2: requests per run to the Flask-Mail app, at c=1"),
    Option("p3-emails", 500, 100, "P3: emails queued and drained per run"),
    Option("p4-seconds", 10.0, 2.0, "P4: length of each run at 50 adds/s"),
    Option("window", 6.0, 1.5, "scale-out and P5: seconds of each measurement"),
    Option("smtp-delay", 0.2, 0.2, "P2, P5, scale-out: seconds the slow SMTP server takes"),
    Option("time-limit", 120.0, 60.0, "upper bound of each load run or wait, in seconds"),
]


def git_commit() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = (
        " (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    )
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def run(args: argparse.Namespace) -> Figures:
    began = time.perf_counter()
    figures: Figures = {
        "options": {k: v for k, v in vars(args).items() if k != "quick"},
        "git_commit": git_commit(),
    }
    log("starting a LocalStack, and the Flask-Mail app of P2 beside it…")
    with ExitStack() as exits:
        stack = LocalStack(email_niceness=EMAIL_NICENESS, env_overrides=UNLIMITED)
        smtp = exits.enter_context(SlowSMTPServer(args.smtp_delay, stack.workdir))
        sync_web = SyncMailWeb(stack, smtp.port)
        exits.callback(stack.stop)
        exits.callback(sync_web.stop)
        in_parallel([stack.start, sync_web.start])
        outbox = Outbox(stack)
        exits.callback(outbox.close)
        figures["cold_start_seconds"] = round(stack.cold_start_seconds or 0.0, 2)
        log(f"stack up in {figures['cold_start_seconds']} s; registering, warming up")
        time.sleep(1.0)
        figures["memory_idle"] = memory.reading(stack)
        with ThreadPoolExecutor(max_workers=4) as pool:  # each sign-up hashes a password
            labels = ("live", "noop", "p4", "p2")
            users = pool.map(
                lambda label: ApiClient(stack.base_url, stack.mailbox(), label), labels
            )
            clients = dict(zip(labels, users, strict=True))
        warm_up(stack, clients["live"], outbox, args)
        try:
            figures["P4"] = p4(stack, clients["p4"], outbox, args)
            figures["P1_P6"] = p1_p6(stack, clients["live"], clients["noop"], outbox, args)
            figures["memory_after"] = figures["P1_P6"].pop("memory_after", {})
            # From here on the stack's worker stays stopped: extra workers do the sending.
            # The relay only fills the queues from here: at full speed, not under the
            # other engineers' load (publishing is not what P3, P5 and the scale measure).
            stack.relay.niceness = 0
            stack.start_service("outbox-relay")
            figures["P3"] = p3(stack, outbox, args)
            p2_with_a_worker(
                stack, smtp, lambda: figures.update(P2=p2(sync_web, clients["p2"], args))
            )
            figures["scale_out"] = scale_out(stack, smtp, outbox, args)
        except Exception:  # noqa: BLE001 - keep what was measured, say what failed
            traceback.print_exc()
            done = [k for k in ("P4", "P1_P6", "P3", "P2", "scale_out") if k in figures]
            figures["failed"] = f"the part after {done[-1] if done else 'the warm-up'}"
        log("stopping the stack…")
    figures["seconds"] = round(time.perf_counter() - began, 1)
    return figures


# --- the table --------------------------------------------------------------------
def ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=False) if y]


def med(values: Sequence[float]) -> str:
    ordered = sorted(values)
    return number(ordered[len(ordered) // 2]) if ordered else "-"


def median_cpu(runs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Per service, the median over repetitions of its CPU ms per add."""
    names = {name for run in runs for name in run["cpu_ms_per_add"]}
    return {
        name: statistics.median(run["cpu_ms_per_add"].get(name, 0.0) for run in runs)
        for name in sorted(names)
    }


def cpu_note(live: dict[str, float], noop: dict[str, float]) -> str:
    """CPU ms per add of each service, email path live | no-op."""
    order = ("web", "postgres", "nginx", "broker", "outbox-relay", "worker", "mailhog", "mailpit")
    shown = [
        f"{name} {live[name]:.1f}|{noop[name]:.1f}" if name in noop else f"{name} {live[name]:.1f}"
        for name in sorted(live, key=lambda n: order.index(n) if n in order else len(order))
    ]
    total = sum(live.values()), sum(noop.values())
    return f"CPU ms per add, live|no-op: {', '.join(shown)}; all {total[0]:.1f}|{total[1]:.1f}"


def email_path_cpu(figures: Figures, c: int = 1) -> float:
    """CPU ms per add that the email path adds, over every service (P1's runs at c)."""
    runs = figures["P1_P6"]["runs"]
    live = median_cpu([rep[c] for rep in runs["live"]])
    noop = median_cpu([rep[c] for rep in runs["noop"]])
    return sum(live.values()) - sum(noop.values())


def p1_p6_rows(figures: Figures) -> list[GoalRow]:
    """P1 and P6 with the email path at its lower CPU share (as the stack runs), and the
    same at an equal share ("eq" rows): what the fairness setting buys."""
    runs = figures["P1_P6"]["runs"]
    noop = runs["noop"]
    rows: list[GoalRow] = []
    for state, suffix, shares in (("live", "", "lower"), ("equal", " eq", "equal")):
        live = runs.get(state, [])
        if not live:
            continue
        cpu = {
            c: cpu_note(median_cpu([rep[c] for rep in live]), median_cpu([rep[c] for rep in noop]))
            for c in (1, 8)
        }
        what = f"email path live ({shares} CPU share) ÷ no-op"
        for c in (1, 8):
            a = [rep[c]["p50_ms"] for rep in live]
            b = [rep[c]["p50_ms"] for rep in noop]
            rows.append(
                GoalRow(
                    f"P1 c={c}{suffix}", f"add p50, {what}", ratios(a, b), "<=", 1.10,
                    loads=[rep[c]["load_before"] for rep in live + noop],
                    note=f"p50 {med(a)} ms live vs {med(b)} ms no-op", limit=cpu[c],
                )
            )  # fmt: skip
        a = [rep[8]["throughput_per_s"] for rep in live]
        b = [rep[8]["throughput_per_s"] for rep in noop]
        settle = med([rep[8]["settle_seconds"] for rep in live])
        rows.append(
            GoalRow(
                f"P6{suffix}", f"adds/s at c=8, {what}", ratios(a, b), ">=", 0.9,
                loads=[rep[8]["load_before"] for rep in live + noop],
                note=f"{med(a)} vs {med(b)} adds/s; the emails done {settle} s after the last add",
                limit=cpu[8],
            )
        )  # fmt: skip
    return rows


def p2_row(figures: Figures) -> GoalRow:
    runs = figures["P2"]
    a = [r["p99_ms"] for r in runs["bookshelf"]]
    b = [r["p99_ms"] for r in runs["sync_flask_mail"]]
    need = number(0.05 * statistics.median(b)) if b else "-"
    floor = ""
    if "P1_P6" in figures:
        noop = [rep[1]["p99_ms"] for rep in figures["P1_P6"]["runs"]["noop"]]
        floor = f"; an add with the email path off has p99 {med(noop)} ms at c=1 (P1)"
    return GoalRow(
        "P2", "add p99 (200 ms SMTP) ÷ sync Flask-Mail p99", ratios(a, b), "<=", 0.05,
        loads=[r["load_before"] for r in runs["bookshelf"] + runs["sync_flask_mail"]],
        note=f"p99 {med(a)} ms vs {med(b)} ms, both at c=1",
        limit=f"the goal needs an add p99 ≤ {need} ms{floor}",
    )  # fmt: skip


def p3_row(figures: Figures) -> GoalRow:
    runs = figures["P3"]
    a = [r["emails_per_s"] for r in runs["worker"]]
    b = [r["emails_per_s"] for r in runs["smtplib"]]
    worker_cpu = med([r["worker_cpu_ms_per_email"] for r in runs["worker"]])
    client_cpu = med([r["client_cpu_ms_per_email"] for r in runs["smtplib"]])
    return GoalRow(
        "P3", "1 worker draining into MailHog ÷ raw smtplib", ratios(a, b), ">=", 0.7,
        loads=[r["load_before"] for r in runs["worker"] + runs["smtplib"]],
        note=f"{med(a)} vs {med(b)} emails/s",
        limit=f"CPU ms per email: worker {worker_cpu} (all its processes), smtplib {client_cpu}",
    )  # fmt: skip


def p4_rows(figures: Figures) -> list[GoalRow]:
    """P4 with the email path at its lower CPU share (as the stack runs), and the
    latency rows again at an equal share ("eq"); lost and doubled over both."""
    every = figures["P4"]
    limit = ""
    if "P1_P6" in figures:
        extra = email_path_cpu(figures)
        limit = (
            f"the email path costs {extra:.1f} CPU ms per add (P1 c=1, every service, live "
            f"- no-op): {extra * 50 / 1000:.2f} cores at 50 adds/s, of 2"
        )
    rows: list[GoalRow] = []
    for state, suffix, shares in (("live", "", "lower"), ("equal", " eq", "equal")):
        runs = [r for r in every if r.get("state", "live") == state]
        if not runs:
            continue
        loads = [r["load_before"] for r in runs]
        adds = sum(r["adds"] for r in runs)
        rate = med([r["achieved_per_s"] for r in runs])
        measured = [r["latency_ms"] for r in runs if r["latency_ms"].get("n")]
        share_limit = limit + (
            f", at nice {EMAIL_NICENESS} (a quarter of web's CPU weight) beside the "
            "machine's other load"
            if state == "live" and limit
            else ""
        )
        rows += [
            GoalRow(
                f"P4 p50{suffix}", f"201 → email in MailHog at 50 adds/s, {shares} share",
                [m["p50"] for m in measured], "<=", 10, unit=" ms", loads=loads,
                note=f"{adds} adds, achieved {rate} adds/s",
            ),
            GoalRow(
                f"P4 p99{suffix}", "  same, p99", [m["p99"] for m in measured], "<=", 30,
                unit=" ms", loads=loads, note=f"max {med([m['max'] for m in measured])} ms",
                limit=share_limit,
            ),
        ]  # fmt: skip
    rows += [
        GoalRow(
            "P4 lost", "  emails never in MailHog (both shares)", [r["lost"] for r in every],
            "<=", 0, total=True,
        ),
        GoalRow(
            "P4 doubled", "  extra emails per Message-ID (both shares)",
            [r["doubled"] for r in every], "<=", 0, total=True,
        ),
    ]  # fmt: skip
    return rows


def scale_rows(figures: Figures) -> list[GoalRow]:
    runs = figures["scale_out"]
    rows = []
    for k in SCALE_OUT:
        rates = [r["emails_per_s"] for r in runs[k]]
        in_flight = med([r["in_flight"] for r in runs[k]])
        cpu = med([r["worker_cpu_ms_per_email"] for r in runs[k] if r["worker_cpu_ms_per_email"]])
        server = med([r["smtp_server_cpu_ms_per_email"] or 0 for r in runs[k]])
        dry = any(r["queue_ran_dry"] for r in runs[k])
        given_up = sum(r.get("given_up", 0) for r in runs[k])
        note = (
            f"{in_flight} sends in flight on average; CPU ms per email: worker {cpu}, "
            f"SMTP server {server}{' (the queue ran dry: a lower bound)' if dry else ''}"
            f"{f'; {given_up} emails given up (timed out)' if given_up else ''}"
        )
        loads = [r["load_before"] for r in runs[k]]
        if k > 1:
            label = f"emails/s, {k} workers, 200 ms SMTP"
            rows.append(GoalRow(f"scale {k}", label, rates, unit="/s", loads=loads, note=note))
            continue
        ceiling = f"; {number(2000 / float(cpu))}/s would take both cores" if cpu != "-" else ""
        needed = number(100 * figures["options"]["smtp_delay"])
        rows.append(
            GoalRow(
                "P5", "emails/s, 1 worker, 200 ms SMTP", rates, ">=", 100, unit="/s", loads=loads,
                note=note,
                limit=f"{in_flight} sends in flight; 100/s needs {needed}{ceiling}",
            )
        )  # fmt: skip
    return rows


def memory_row(figures: Figures) -> GoalRow:
    idle, after = figures["memory_idle"], figures.get("memory_after", {})
    parts = [
        f"{name} {idle[name]['pss_mib']:.0f}→{after.get(name, {}).get('pss_mib', 0):.0f}"
        for name in idle
        if name != "total"
    ]
    return GoalRow(
        "memory", "PSS of the stack, idle → after P1 (MiB)",
        [idle["total"]["pss_mib"]], unit=" MiB",
        note=f"after P1: {after.get('total', {}).get('pss_mib', '-')} MiB; {', '.join(parts)}",
    )  # fmt: skip


def goal_rows(figures: Figures) -> list[GoalRow]:
    rows: list[GoalRow] = []
    for part, build in (
        ("P1_P6", p1_p6_rows), ("P2", lambda f: [p2_row(f)]), ("P3", lambda f: [p3_row(f)]),
        ("P4", p4_rows), ("scale_out", scale_rows),
    ):  # fmt: skip
        if part in figures:
            rows += build(figures)
    order = [
        "P1 c=1",
        "P1 c=1 eq",
        "P1 c=8",
        "P1 c=8 eq",
        "P2",
        "P3",
        "P4 p50",
        "P4 p99",
        "P4 p50 eq",
        "P4 p99 eq",
        "P4 lost",
        "P4 doubled",
        "P5",
        "P6",
        "P6 eq",
    ]
    rows.sort(key=lambda r: order.index(r.key) if r.key in order else len(order))
    rows.append(
        GoalRow("cold start", "the whole LocalStack", [figures["cold_start_seconds"]], unit=" s")
    )
    if "memory_idle" in figures:
        rows.append(memory_row(figures))
    return rows


def table(figures: Figures) -> str:
    return render(goal_rows(figures))


def main(argv: Sequence[str] | None = None) -> int:
    """Run, save bench/results/goals.json, print the table; 1 if a part failed."""
    args = parse(NAME, __doc__ or NAME, OPTIONS, argv)
    figures = run(args)
    path = save(NAME, figures)
    machine = figures["machine"] = stats_machine()
    print(
        f"\n### Bookshelf goals (issue 10){' --quick' if args.quick else ''}: commit "
        f"{figures['git_commit']}, {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{figures['seconds']:.0f} s, load {machine['load_average_1m']} at the end\n"
    )
    print(table(figures))
    print(f"\nfigures saved to {path}")
    if figures.get("failed"):
        print(
            f"\nFAILED: {figures['failed']} (traceback above); the table shows what ran before it"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
