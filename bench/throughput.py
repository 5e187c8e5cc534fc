"""How fast workers send emails that are already queued: one worker into MailHog against
raw smtplib (P3), and 1, 2 and 4 workers against an SMTP server that takes 200 ms per
message (P5 is the one-worker figure; item 5 of issue 10 the scale-out).

Both run with the stack's own worker stopped and its relay running. Emails are queued
by Outbox.seed (outbox rows committed 'pending', published by the relay); the workers
are extra devstack CeleryWorkers in the image's default configuration.
"""

from __future__ import annotations

import argparse
import re
import smtplib
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.mailbox import drain_rate, wait_for_count
from bench.proc_tree import cpu_seconds
from bench.request_path import load_average, log
from bench.smtp_sink import SlowSMTPServer
from bench.stack_ops import Outbox, extra_worker, running
from devstack.mailbox import Email
from devstack.stack import LocalStack
from devstack.worker import DEFAULT_CONCURRENCY, CeleryWorker

SCALE_OUT = (1, 2, 4)
# Seconds a backlog must last beyond the window: the workers start together, and the
# first one ready sends while the others start.
WINDOW_MARGIN_S = 3.0


def address(label: str) -> str:
    return f"bench-{label}-{uuid.uuid4().hex[:8]}@example.com"


def worker_cpu(workers: list[CeleryWorker]) -> float:
    return sum(
        cpu_seconds(w.process.proc.pid) for w in workers if w.process.proc and w.process.running
    )


def queue(outbox: Outbox, to: str, count: int, timeout: float) -> None:
    """Queue `count` emails to `to` and wait until the relay has published them all
    (at a few hundred per second: the wait grows with the count)."""
    outbox.seed(to, count)
    outbox.wait(lambda: outbox.pending(to) == 0, max(timeout, count / 50))


# --- P3 -------------------------------------------------------------------------
def copies(template: Email, to: str, count: int) -> list[bytes]:
    """`count` copies of a real email as the worker sent it, each with its own
    Message-ID, addressed to `to`."""
    data = template.data
    head, body = data.split(b"\r\n\r\n", 1)
    head = re.sub(rb"(?im)^To:.*$", f"To: {to}".encode(), head)
    result = []
    for _ in range(count):
        message_id = f"Message-ID: <{uuid.uuid4()}@bench-smtplib>".encode()
        result.append(re.sub(rb"(?im)^Message-ID:.*$", message_id, head) + b"\r\n\r\n" + body)
    return result


def smtplib_burst(port: int, to: str, messages: list[bytes]) -> dict[str, float]:
    """Every message over one SMTP connection, back to back (the floor of sending)."""
    began, cpu = time.perf_counter(), time.thread_time()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for message in messages:
            smtp.sendmail("no-reply@bookshelf.localhost", [to], message)
    seconds = time.perf_counter() - began
    return {
        "client_seconds": round(seconds, 3),
        "client_cpu_ms_per_email": round((time.thread_time() - cpu) * 1000 / len(messages), 2),
    }


def p3(stack: LocalStack, outbox: Outbox, args: argparse.Namespace) -> dict[str, Any]:
    mailhog = stack.mailbox()
    count = args.p3_emails
    runs: dict[str, list[dict[str, Any]]] = {"worker": [], "smtplib": []}
    for rep in range(args.reps):
        to = address(f"p3-worker-{rep}")
        queue(outbox, to, count, args.time_limit)
        load = load_average()
        worker = extra_worker(stack, f"p3-{rep}", stack.mail_catcher.smtp_port)
        with running([worker]):
            cpu = worker_cpu([worker])
            waited = wait_for_count(mailhog, to, count, args.time_limit)
            cpu = worker_cpu([worker]) - cpu
        emails = mailhog.messages_to(to)
        runs["worker"].append(
            {
                "load_before": load,
                "emails": len(emails),
                "emails_per_s": round(drain_rate(emails), 1),
                "waited_seconds": round(waited, 2),
                "worker_cpu_ms_per_email": round(cpu * 1000 / max(1, len(emails)), 2),
            }
        )
        raw_to = address(f"p3-smtplib-{rep}")
        messages = copies(emails[0], raw_to, count)
        load = load_average()
        client = smtplib_burst(stack.mail_catcher.smtp_port, raw_to, messages)
        wait_for_count(mailhog, raw_to, count, args.time_limit)
        raw = mailhog.messages_to(raw_to)
        runs["smtplib"].append(
            {"load_before": load, "emails": len(raw), "emails_per_s": round(drain_rate(raw), 1)}
            | client
        )
        log(
            f"P3 {rep + 1}/{args.reps}: worker {runs['worker'][-1]['emails_per_s']}/s, "
            f"smtplib {runs['smtplib'][-1]['emails_per_s']}/s"
        )
        mailhog.delete_all()
    return runs


# --- scale-out and P5 ---------------------------------------------------------------
def backlog_for(workers: int, seconds: float, smtp: SlowSMTPServer) -> int:
    """Emails queued ahead of a window: more than `workers` can send in it and in the
    few seconds around it even if every thread sends back to back, so no window runs
    dry, whatever one worker turns out to manage (a measured rate would be a guess)."""
    per_worker = DEFAULT_CONCURRENCY / smtp.delay  # each thread: one send per delay
    return int(workers * per_worker * (seconds + WINDOW_MARGIN_S))


def window(
    smtp: SlowSMTPServer,
    outbox: Outbox,
    to: str,
    workers: list[CeleryWorker],
    seconds: float,
) -> dict[str, Any]:
    """Emails the slow server accepted during `seconds`, from the running `workers`."""
    load = load_average()
    given_up = outbox.given_up(to)
    cpu, server_cpu = worker_cpu(workers), smtp.cpu_seconds()
    start = time.time()
    time.sleep(seconds)
    end = time.time()
    cpu, server_cpu = worker_cpu(workers) - cpu, smtp.cpu_seconds() - server_cpu
    done = smtp.accepted_between(start, end)
    rate = done / (end - start)
    return {
        "load_before": load,
        "emails": done,
        "emails_per_s": round(rate, 1),
        # Little's law: sends in progress at once, on average.
        "in_flight": round(rate * smtp.delay, 1),
        "worker_cpu_ms_per_email": round(cpu * 1000 / done, 2) if done else None,
        "smtp_server_cpu_ms_per_email": round(server_cpu * 1000 / done, 2) if done else None,
        # The queue ran out during the window: the rate is a lower bound.
        "queue_ran_dry": outbox.in_flight(to) == 0,
        # Emails that ended failed or uncertain meanwhile (a send that timed out): a
        # sign that the SMTP server, not the workers, was the bottleneck.
        "given_up": outbox.given_up(to) - given_up,
    }


def scale_out(
    stack: LocalStack,
    smtp: SlowSMTPServer,
    outbox: Outbox,
    args: argparse.Namespace,
) -> dict[int, list[dict[str, Any]]]:
    """Per repetition, for 1, 2 and 4 workers: with no worker running, queue a backlog
    (backlog_for) and wait until the relay has published it all; start the workers
    together, measure `args.window` s; stop them, drop what is left. Filling the
    queue while workers run would measure the relay's publishing instead."""
    runs: dict[int, list[dict[str, Any]]] = {k: [] for k in SCALE_OUT}
    for rep in range(args.reps):
        for k in SCALE_OUT:
            to = address(f"scale-{rep}-{k}")
            want = backlog_for(k, args.window, smtp)
            queue(outbox, to, want, args.time_limit)
            workers = [extra_worker(stack, f"scale-{rep}-{k}-{i}", smtp.port) for i in range(k)]
            with running(workers):
                runs[k].append(window(smtp, outbox, to, workers, args.window))
            # Nothing of this step is left to send: the next starts from an empty queue.
            outbox.purge_queue()
            outbox.delete_unsent()
            done = runs[k][-1]
            log(
                f"scale-out {rep + 1}/{args.reps}: {k} worker(s) {done['emails_per_s']}/s "
                f"(backlog {want}, dry {done['queue_ran_dry']}, given up {done['given_up']})"
            )
    return runs


def p2_with_a_worker(
    stack: LocalStack, smtp: SlowSMTPServer, measure: Callable[[], object]
) -> None:
    """P2 needs one worker sending every email to the slow server: an extra one, as
    the scale-out's (the stack's own worker sends to MailHog, and stays stopped)."""
    with running([extra_worker(stack, "p2", smtp.port)]):
        measure()
