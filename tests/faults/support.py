"""Typed helpers of the fault suite: a paced burst of adds and deletes through nginx,
and the count, per event, of emails in the mailbox against the rows and the status page."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from devstack.bookshelf_client import BookshelfApi, BookshelfUser
from devstack.mailbox import Mailbox
from devstack.stack import LocalStack
from tests.faults.smtp_proxy import FaultySMTP

FINAL = {"sent", "failed", "uncertain"}
MAIL_TIMEOUT_S = 3.0
FAULT_ENV = {
    "OUTBOX_SEND_LEASE_SECONDS": "8",
    "OUTBOX_QUEUED_LEASE_SECONDS": "4",
    "OUTBOX_RETRY_GRACE_SECONDS": "3",
    "MAIL_TIMEOUT": str(MAIL_TIMEOUT_S),
    # A whole send must end before its 8 s lease (the worker refuses to start otherwise).
    "MAIL_SEND_DEADLINE": "6",
}

# Case name -> its row of the fault table; conftest prints and saves it.
TABLE: dict[str, dict[str, Any]] = {}
STATUS_ROW = re.compile(
    r'<tr id="event-(?P<id>[^"]+)">.*?class="state state-(?P<state>[a-z]+)"', re.DOTALL
)
MESSAGE_ID = re.compile(r"<(?P<id>[0-9a-f-]{36})@bookshelf>")


@dataclass
class BurstResult:
    """What the client saw: status codes of adds and deletes (0: no answer at all)."""

    adds: Counter[int] = field(default_factory=Counter)
    deletes: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0


def burst(
    api: BookshelfApi,
    adds: int,
    *,
    delete_every: int = 3,
    rate: float = 25.0,
    fault_at: int | None = None,
    fault: Callable[[], object] | None = None,
) -> BurstResult:
    """`adds` books at about `rate` per second, deleting every `delete_every`-th one
    right after adding it; `fault` runs in a thread when the `fault_at`-th add is sent."""
    result = BurstResult()
    injector: threading.Thread | None = None
    errors: list[BaseException] = []

    def inject() -> None:
        try:
            if fault is not None:
                fault()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(error)

    began = time.monotonic()
    for index in range(adds):
        if fault is not None and index == fault_at:
            injector = threading.Thread(target=inject, name="fault", daemon=True)
            injector.start()
        slot = began + index / rate
        time.sleep(max(0.0, slot - time.monotonic()))
        book_id = _call(result.adds, api.add_book, title=f"Libro {index}", author="Autora")
        if book_id is not None and index % delete_every == delete_every - 1:
            _call(result.deletes, api.delete_book, book_id)
    if injector is not None:
        injector.join(timeout=120)
        assert not injector.is_alive(), "the fault injector did not finish"
    if errors:
        raise errors[0]
    result.seconds = time.monotonic() - began
    return result


def _call(
    codes: Counter[int], request: Callable[..., requests.Response], *args: Any, **kwargs: Any
) -> int | None:
    try:
        response = request(*args, **kwargs)
    except requests.RequestException:
        codes[0] += 1
        return None
    codes[response.status_code] += 1
    if response.status_code == 201:
        return int(response.json()["id"])
    return None


@dataclass(frozen=True)
class Tally:
    """One case's outcome, per event: the figures of the fault table."""

    events: int
    emails: int
    lost: int  # a row that is not failed or uncertain and has no email
    doubled: int  # an event with more than one email (or an email for no event)
    stuck: int  # a row still in flight when the deadline passed
    disagreeing: int  # the status page says otherwise than the row, or the row than the mailbox
    uncertain: int
    failed: int
    settle_seconds: float
    statuses: dict[str, int]

    def row(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "emails": self.emails,
            "lost": self.lost,
            "doubled": self.doubled,
            "stuck": self.stuck,
            "disagreeing": self.disagreeing,
            "uncertain": self.uncertain,
            "failed": self.failed,
            "settle_s": round(self.settle_seconds, 1),
        }


class Observer:
    """Reads one user's truth three ways: Postgres rows, the mailbox, the status page."""

    def __init__(self, database_url: str, mailhog: Mailbox) -> None:
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        self.mailhog = mailhog

    def rows(self, address: str) -> dict[str, str]:
        query = text(
            # The book emails: the sign-up's verification email was followed and removed.
            "SELECT e.id, e.status FROM email_events e JOIN users u ON u.id = e.owner_id "
            "WHERE u.email = :address AND e.kind IN ('added', 'deleted')"
        )
        with self.engine.connect() as connection:
            return {row.id: row.status for row in connection.execute(query, {"address": address})}

    def emails(self, address: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        for email in self.mailhog.messages_to(address):
            found = MESSAGE_ID.search(email.message_id)
            counts[found.group("id") if found else "?"] += 1
        return counts

    @staticmethod
    def status_page(user: BookshelfUser) -> dict[str, str]:
        shown: dict[str, str] = {}
        page = 1
        while True:
            html = user.get(f"/notifications/?page={page}").text
            found = {row["id"]: row["state"] for row in STATUS_ROW.finditer(html)}
            if not found or set(found) <= set(shown):
                return shown
            shown.update(found)
            page += 1

    def settle(self, user: BookshelfUser, timeout: float) -> Tally:
        """Wait (bounded) until every row is final and the mailbox stops changing."""
        address = user.account.email
        began = time.monotonic()
        deadline = began + timeout
        previous: Counter[str] | None = None
        while True:
            rows = self.rows(address)
            emails = self.emails(address)
            settled = all(status in FINAL for status in rows.values())
            if (settled and emails == previous) or time.monotonic() >= deadline:
                break
            previous = emails
            time.sleep(1.0)
        return self._tally(rows, emails, self.status_page(user), time.monotonic() - began)

    @staticmethod
    def _tally(
        rows: dict[str, str], emails: Counter[str], page: dict[str, str], seconds: float
    ) -> Tally:
        expected = {"sent": (1, 1), "failed": (0, 0), "uncertain": (0, 1)}
        disagreeing = 0
        for event_id, status in rows.items():
            low, high = expected.get(status, (0, 1))
            if page.get(event_id) != status or not low <= emails[event_id] <= high:
                disagreeing += 1
        strays = sum(count for event_id, count in emails.items() if event_id not in rows)
        return Tally(
            events=len(rows),
            emails=sum(emails.values()),
            lost=sum(
                1 for i, s in rows.items() if s not in ("failed", "uncertain") and not emails[i]
            ),
            doubled=sum(1 for i in rows if emails[i] > 1) + strays,
            stuck=sum(1 for status in rows.values() if status not in FINAL),
            disagreeing=disagreeing,
            uncertain=sum(1 for status in rows.values() if status == "uncertain"),
            failed=sum(1 for status in rows.values() if status == "failed"),
            settle_seconds=seconds,
            statuses=dict(Counter(rows.values())),
        )


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a Celery pool, gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.05)


@dataclass
class FaultStack:
    stack: LocalStack
    smtp: FaultySMTP
    observer: Observer


@dataclass
class Reader:
    user: BookshelfUser
    api: BookshelfApi

    @property
    def address(self) -> str:
        return self.user.account.email
