"""Drive the JSON API from Python where each request's own timestamps matter: a paced
open loop at a steady rate (P4), bounded in count and in time. Closed loops as fast as
they go use `hey` (bench/hey.py), which costs the shared cores far less.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.account import BenchUser, register
from devstack.mailbox import Mailbox

REQUEST_TIMEOUT = 10.0
Call = Callable[[requests.Session, int], requests.Response]


@dataclass(frozen=True)
class Sample:
    index: int
    seconds: float  # request sent -> response read
    answered_at: float  # wall clock (time.time()) when the response was read
    status: int
    body: dict[str, Any] | None


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.wall_seconds if self.wall_seconds else 0.0

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sample in self.samples:
            counts[sample.status] = counts.get(sample.status, 0) + 1
        return counts


class ApiClient:
    """One registered user with an API token, able to open sessions."""

    def __init__(self, base_url: str, mailbox: Mailbox, label: str = "bench") -> None:
        self.base_url = base_url.rstrip("/")
        self.user: BenchUser = register(self.base_url, label, mailbox)
        self.run_id = uuid.uuid4().hex[:6]

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def token(self) -> str:
        return self.user.token

    @property
    def books_url(self) -> str:
        return f"{self.base_url}/api/v1/books"

    def session(self) -> requests.Session:
        """A keep-alive session, its connection already open (one untimed GET), so
        that no measured request pays for the TCP handshake."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        session.get(self.books_url, timeout=REQUEST_TIMEOUT).raise_for_status()
        return session

    def book(self, label: str, index: int = 0) -> dict[str, str]:
        return {"title": f"Bench {self.run_id} {label} {index:05d}", "author": "Autora Banco"}

    def poster(self, label: str) -> Call:
        """A call that adds book number `index` of this label."""
        return lambda session, index: session.post(
            self.books_url, json=self.book(label, index), timeout=REQUEST_TIMEOUT
        )


def timed(call: Call, session: requests.Session, index: int) -> Sample:
    began = time.perf_counter()
    reply = call(session, index)
    seconds = time.perf_counter() - began
    answered_at = time.time()
    body = (
        reply.json()
        if reply.headers.get("Content-Type", "").startswith("application/json")
        else None
    )
    return Sample(index, seconds, answered_at, reply.status_code, body)


def paced(client: ApiClient, call: Call, rate: float, seconds: float, senders: int = 4) -> Run:
    """Request `index` is sent at start + index/rate, for `seconds` (a steady rate, not a
    burst), over `senders` keep-alive connections, so that one slow answer does not
    delay the requests scheduled after it (an open loop, as long as fewer than `senders`
    are slow at once). The run's throughput shows the rate achieved."""
    run = Run()
    count = max(1, round(rate * seconds))
    deadline = time.monotonic() + seconds * 2 + 10  # bounded even if the stack crawls
    lock = threading.Lock()
    sessions = [client.session() for _ in range(senders)]
    began = time.perf_counter() + 0.05

    def sender(first: int) -> None:
        for index in range(first, count, senders):
            if time.monotonic() >= deadline:
                return
            pause = began + index / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sample = timed(call, sessions[first], index)
            with lock:
                run.samples.append(sample)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.wall_seconds = time.perf_counter() - began
    return run
