"""Benchmark (not a test): the abuse case of issue 11. One account, 2 threads, adding and
deleting books as fast as they can for 15 s through nginx, on a LocalStack with the
app's default limits (docs/architecture.md, "Limits"); then, once MailHog's count has
not moved for a while, how many emails left the system.

    .venv/bin/python -m bench.abuse [--seconds 15] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence

import requests

from bench.account import register
from bench.cli import Figures, Option, Row, run_alone
from bench.mailbox import count_to
from devstack.stack import LocalStack

NAME = "abuse"
OPTIONS = [
    Option("seconds", 15.0, 5.0, "how long the two threads add and delete"),
    Option("threads", 2, 2, "threads of the one account"),
    Option("settle", 8.0, 4.0, "seconds MailHog's count must stay put to call it settled"),
]
BOOK = {"title": "URGENT: verify your account", "author": "Your bank"}


def hammer(base_url: str, token: str, until: float, statuses: Counter[int]) -> None:
    """Add a book, delete it, again, until `until`; count the answers."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    books = f"{base_url}/api/v1/books"
    while time.monotonic() < until:
        added = http.post(books, json=BOOK, timeout=10)
        statuses[added.status_code] += 1
        if added.status_code == 201:
            gone = http.delete(f"{books}/{added.json()['id']}", timeout=10)
            statuses[gone.status_code] += 1


def settled_count(stack: LocalStack, address: str, quiet: float, longest: float) -> int:
    """MailHog's count for `address` once it has not changed for `quiet` seconds."""
    mailhog = stack.mailhog_client()
    deadline = time.monotonic() + longest
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count_to(mailhog, address)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.5)
    return last


def run(args: argparse.Namespace) -> Figures:
    print(f"[{NAME}] starting a LocalStack (default limits)…", file=sys.stderr, flush=True)
    with LocalStack() as stack:
        user = register(stack.base_url, "abuse")
        statuses: Counter[int] = Counter()
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=hammer, args=(stack.base_url, user.token, until, statuses))
            for _n in range(args.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        emails = settled_count(stack, user.email, args.settle, longest=120)
        listed = requests.get(
            f"{stack.base_url}/api/v1/emails?per_page=100",
            headers={"Authorization": f"Bearer {user.token}"},
            timeout=10,
        ).json()
    held = sum(1 for item in listed["items"] if item["hold_reason"] == "rate_limited")
    accepted = statuses[201] + statuses[200]
    return {
        "seconds": args.seconds,
        "threads": args.threads,
        "statuses": dict(statuses),
        "changes_accepted": accepted,
        "changes_refused_429": statuses[429],
        "emails_recorded": listed["total"],
        "emails_deferred_rate_limited": held,
        "emails_left_the_system": emails,
    }


def summary_rows(figures: Figures) -> list[Row]:
    return [
        (
            f"{figures['threads']} threads, {figures['seconds']:.0f} s",
            f"{figures['changes_accepted']} changes accepted, "
            f"{figures['changes_refused_429']} refused (429); statuses {figures['statuses']}",
        ),
        (
            "emails",
            f"{figures['emails_left_the_system']} left the system (MailHog, settled); "
            f"{figures['emails_deferred_rate_limited']} deferred (rate_limited), "
            f"{figures['emails_recorded']} recorded",
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    return run_alone(NAME, __doc__ or NAME, OPTIONS, run, summary_rows, argv)


if __name__ == "__main__":
    raise SystemExit(main())
