"""The outbox relay: moves on every email whose due time has passed, from Postgres alone.

Each row in flight carries a due time (docs/architecture.md, "Email delivery state"):
a pending row its request did not publish, a queued row nobody claimed, a retry whose
message was lost, a send whose worker vanished. One query finds them all; each is
claimed with `SELECT ... FOR UPDATE SKIP LOCKED` and handled while locked, and the
handler's own commit ends the lock, so several relays never handle one row twice.
A send that vanished after DATA becomes 'uncertain'; every other row is published
again (same event id, same Message-ID) and a worker's claim drops any extra copy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, func, select

from bookshelf.extensions import db
from bookshelf.outbox.dispatch import publish
from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks import delivery
from bookshelf_tasks.delivery import IN_FLIGHT, EmailStatus

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
DEFAULT_INTERVAL = 5.0
DEFAULT_HEARTBEAT = Path("/tmp/bookshelf-outbox-relay.heartbeat")  # noqa: S108 - tmpfs in prod


@dataclass(frozen=True)
class RelayResult:
    """One pass: what it published, gave up on, and what is still due."""

    published: int
    uncertain: int  # sends lost after DATA, now 'uncertain'
    undeliverable: int  # invalid payloads, now 'failed'
    still_due: int  # due rows left (the broker refused, or beyond the batch)
    broker_down: bool
    seconds: float

    @property
    def handled(self) -> int:
        return self.published + self.uncertain + self.undeliverable


def _due() -> Select[EmailEvent]:
    return (
        select(EmailEvent)
        .where(
            EmailEvent.status.in_([status.value for status in IN_FLIGHT]),
            EmailEvent.due_at <= func.now(),
        )
        .order_by(EmailEvent.due_at, EmailEvent.id)
    )


def _claim_each(limit: int) -> Iterator[EmailEvent]:
    """Lock due rows one at a time (SKIP LOCKED), each at most once per pass."""
    seen: list[str] = []
    while len(seen) < limit:
        query = _due().limit(1).with_for_update(skip_locked=True)
        if seen:
            query = query.where(EmailEvent.id.not_in(seen))
        event = db.session.scalar(query.execution_options(populate_existing=True))
        if event is None:
            return
        seen.append(event.id)
        yield event


def _count_due() -> int:
    query = _due().with_only_columns(func.count()).order_by(None)
    return db.session.scalar(query) or 0


def relay_due(limit: int = DEFAULT_BATCH_SIZE) -> RelayResult:
    """Handle up to `limit` due rows, oldest due first. Stops at the first row the
    broker refuses: the rest would fail the same way. Needs an app context."""
    began = time.perf_counter()
    published = uncertain = undeliverable = 0
    broker_down = False
    try:
        for event in _claim_each(limit):
            if event.state is EmailStatus.SENDING and event.data_sent_at is not None:
                delivery.record_lost_after_data(db.session.connection(), event.id)
                db.session.commit()
                log.warning("email event %s: worker lost after DATA; uncertain", event.id)
                uncertain += 1
            elif publish(event):  # commits, which releases the row
                published += 1
            elif event.state is EmailStatus.FAILED:
                undeliverable += 1
            else:
                broker_down = True
                break
        still_due = _count_due()
    finally:
        db.session.rollback()  # ends the read-only tail of the pass; no lock outlives it
    return RelayResult(
        published, uncertain, undeliverable, still_due, broker_down, time.perf_counter() - began
    )


class RelayLoop:
    """`relay_due` every `interval` seconds until `stop()` (the CLI wires SIGTERM).

    A full batch is followed at once by the next pass, so a backlog drains at publish
    speed. Each finished pass touches `heartbeat`, which the container healthcheck
    reads; a pass that raises (database down) is logged and retried next interval.
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        heartbeat: Path | None = DEFAULT_HEARTBEAT,
    ) -> None:
        self.interval = interval
        self.batch_size = batch_size
        self.heartbeat = heartbeat
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run_pass(self) -> RelayResult | None:
        try:
            result = relay_due(self.batch_size)
        except Exception:
            log.exception("outbox relay pass failed; next try in %.0fs", self.interval)
            return None
        finally:
            db.session.remove()  # hand the connection back between passes
        if self.heartbeat is not None:
            self.heartbeat.touch()
        level = logging.INFO if result.handled or result.still_due else logging.DEBUG
        log.log(
            level,
            "outbox relay: %d published, %d uncertain, %d undeliverable, %d still due%s in %.3fs",
            result.published, result.uncertain, result.undeliverable, result.still_due,
            " (broker unavailable)" if result.broker_down else "", result.seconds,
        )  # fmt: skip
        return result

    def run(self) -> None:
        log.info("outbox relay started: every %.1fs, batches of %d", self.interval, self.batch_size)
        while not self._stopping.is_set():
            result = self.run_pass()
            backlog = result is not None and result.handled >= self.batch_size
            if not backlog:
                self._stopping.wait(self.interval)
        log.info("outbox relay stopped")
