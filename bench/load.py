"""Drive the JSON API over real HTTP: a bounded closed loop at a given concurrency, and a
paced open loop at a steady rate. Every loop stops at a request count or a deadline.

Each thread has its own keep-alive `requests.Session`, as a real client would. The
client shares the machine's cores with the stack it measures.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.e2e.bookshelf_client import BookshelfUser

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
    """One registered user with an API token, able to open sessions for threads."""

    def __init__(self, base_url: str, label: str = "bench") -> None:
        user = BookshelfUser(base_url)
        user.account.email = f"bench-{label}-{uuid.uuid4().hex[:10]}@example.com"
        user.register()
        self.base_url = base_url.rstrip("/")
        self.email = user.account.email
        self.token = user.api_token()
        self.run_id = uuid.uuid4().hex[:6]

    def session(self) -> requests.Session:
        """A keep-alive session, its connection already open (one untimed GET), so
        that no measured request pays for the TCP handshake."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        self.list_books(session).raise_for_status()
        return session

    def title(self, label: str, index: int) -> str:
        return f"Bench {self.run_id} {label} {index:05d}"

    def add_book(self, session: requests.Session, label: str, index: int) -> requests.Response:
        book = {"title": self.title(label, index), "author": "Autora Banco"}
        return session.post(f"{self.base_url}/api/v1/books", json=book, timeout=REQUEST_TIMEOUT)

    def poster(self, label: str) -> Call:
        """A call that adds book number `index` of this label."""
        return lambda session, index: self.add_book(session, label, index)

    def via(self, base_url: str) -> ApiClient:
        """The same user and token, talking to another address (e.g. gunicorn directly)."""
        other = copy.copy(self)
        other.base_url = base_url.rstrip("/")
        return other

    def list_books(self, session: requests.Session) -> requests.Response:
        return session.get(f"{self.base_url}/api/v1/books", timeout=REQUEST_TIMEOUT)


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


def closed_loop(
    client: ApiClient, call: Call, count: int, concurrency: int, time_limit: float
) -> Run:
    """`concurrency` threads send back-to-back requests until `count` are done or time is up."""
    run = Run()
    lock = threading.Lock()
    issued = 0
    deadline = time.monotonic() + time_limit

    def next_index() -> int | None:
        nonlocal issued
        with lock:
            if issued >= count or time.monotonic() >= deadline:
                return None
            issued += 1
            return issued - 1

    def worker() -> None:
        session = client.session()
        while (index := next_index()) is not None:
            sample = timed(call, session, index)
            with lock:
                run.samples.append(sample)

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    run.wall_seconds = time.perf_counter() - began
    return run


def paced(
    client: ApiClient,
    call: Call,
    rate: float,
    seconds: float,
    on_each: Callable[[int], None] | None = None,
) -> Run:
    """One request every 1/rate s for `seconds` (not a burst). A request slower than
    the interval delays the next; the run's throughput shows the rate achieved."""
    run = Run()
    session = client.session()
    count = max(1, round(rate * seconds))
    deadline = time.monotonic() + seconds * 2 + 10  # bounded even if the stack crawls
    began = time.perf_counter()
    for index in range(count):
        if time.monotonic() >= deadline:
            break
        if on_each is not None:
            on_each(index)
        pause = began + index / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        run.samples.append(timed(call, session, index))
    run.wall_seconds = time.perf_counter() - began
    return run
