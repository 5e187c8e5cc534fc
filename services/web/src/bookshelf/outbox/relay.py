"""The outbox relay: publishes every email whose due time has passed, from Postgres
alone, woken at each commit and by a periodic sweep (docs/architecture.md, "Email
delivery state", Relay)."""

from __future__ import annotations

import contextlib
import logging
import select as io_select
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import Select, func, select

from bookshelf.extensions import db
from bookshelf.outbox.dispatch import publish_all
from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks import delivery
from bookshelf_tasks.delivery import IN_FLIGHT, NOTIFY_CHANNEL, EmailStatus

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
# The sweep's period: the safety net for due times (leases, retries) and for a missed
# notification. New rows do not wait for it: their INSERT wakes the relay at commit.
DEFAULT_INTERVAL = 5.0
DEFAULT_HEARTBEAT = Path("/tmp/bookshelf-outbox-relay.heartbeat")  # noqa: S108 - tmpfs in prod


@dataclass(frozen=True)
class RelayResult:
    """One pass: what it published, gave up on, and what is still due."""

    published: int
    uncertain: int  # sends lost after DATA, made 'uncertain'
    undeliverable: int  # invalid payloads, made 'failed'
    still_due: int  # due rows left (the broker refused, or beyond the batch)
    broker_down: bool
    seconds: float

    @property
    def handled(self) -> int:
        return self.published + self.uncertain + self.undeliverable


def _due() -> Select[Any]:
    # Plain columns, not EmailEvent objects: a pass per commit should cost little.
    return (
        select(
            EmailEvent.id,
            EmailEvent.status,
            EmailEvent.payload,
            EmailEvent.request_id,
            EmailEvent.data_sent_at,
        )
        .where(
            EmailEvent.status.in_([status.value for status in IN_FLIGHT]),
            EmailEvent.due_at <= func.now(),
        )
        .order_by(EmailEvent.due_at, EmailEvent.id)
    )


def _count_due() -> int:
    query = _due().with_only_columns(func.count()).order_by(None)
    return db.session.scalar(query) or 0


def relay_due(limit: int = DEFAULT_BATCH_SIZE) -> RelayResult:
    """Handle up to `limit` due rows, oldest due first, in one transaction: lock them
    (SKIP LOCKED, so several relays share the work), settle the sends lost after DATA,
    publish the rest over one broker connection, commit. Needs an app context."""
    began = time.perf_counter()
    try:
        rows = db.session.execute(_due().limit(limit).with_for_update(skip_locked=True)).all()
        lost = [r for r in rows if r.status == EmailStatus.SENDING and r.data_sent_at]
        for row in lost:
            delivery.record_lost_after_data(db.session.connection(), row.id)
            log.warning("email event %s: worker lost after DATA; uncertain", row.id)
        done = publish_all([row for row in rows if row not in lost])
        db.session.commit()
        # Counted only when more may be waiting: a pass per commit need not ask.
        still_due = _count_due() if done.broker_down or len(rows) == limit else 0
    finally:
        db.session.rollback()  # no lock outlives a pass, whatever happened
    return RelayResult(
        done.published,
        len(lost),
        done.invalid,
        still_due,
        done.broker_down,
        time.perf_counter() - began,
    )


class DueListener:
    """LISTENs on the channel the outbox rows' INSERT trigger notifies at commit
    (migration e7a3c5b9d1f4), on a connection of its own outside the pool."""

    def __init__(self, channel: str = NOTIFY_CHANNEL) -> None:
        self.channel = channel
        self._connection: Any = None

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` s; True when a notification came, or when it has just
        (re)connected: whatever was committed meanwhile was not announced to it.
        Without a working connection (Postgres down) it sleeps and tries again."""
        try:
            if self._connection is None:
                self.connect()
                return True
            connection = self._connection
            if not connection.notifies:
                readable, _, _ = io_select.select([connection], [], [], timeout)
                if readable:
                    connection.poll()
            woken = bool(connection.notifies)
            connection.notifies.clear()
            return woken
        except (OSError, psycopg2.Error) as error:
            log.warning("outbox relay: LISTEN connection lost (%s); polling", error)
            self.close()
            time.sleep(timeout)
            return False

    def connect(self) -> Any:
        if self._connection is None:
            url = db.engine.url.set(drivername="postgresql")
            connection = psycopg2.connect(
                url.render_as_string(hide_password=False), connect_timeout=5
            )
            connection.set_session(autocommit=True)
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {self.channel}")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
            self._connection = None


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
        log.info(
            "outbox relay started: woken by %s, sweeping every %.1fs, batches of %d",
            NOTIFY_CHANNEL, self.interval, self.batch_size,
        )  # fmt: skip
        listener = DueListener()
        with contextlib.suppress(OSError, psycopg2.Error):  # else: wait() retries it
            listener.connect()  # before the first pass, so no commit falls in between
        try:
            while not self._stopping.is_set():
                result = self.run_pass()
                backlog = result is not None and result.handled >= self.batch_size
                if not backlog:
                    self._wait(listener)
        finally:
            listener.close()
        log.info("outbox relay stopped")

    def _wait(self, listener: DueListener) -> None:
        """Until a notification, the sweep's interval, or stop(): in slices, so that a
        SIGTERM is answered within half a second."""
        deadline = time.monotonic() + self.interval
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or listener.wait(min(left, 0.5)):
                return
