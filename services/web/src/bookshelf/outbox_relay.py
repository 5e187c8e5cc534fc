"""The outbox relay: queues the email events that the request's own dispatch could not.

A book change commits its `EmailEvent` as 'pending', then the request dispatches it.
When the broker was down at that moment the row stays 'pending'; the relay picks
such rows up later, oldest first, through the same `notifications.dispatch`, so no
email waits for the user to press "retry".

Concurrency: each event is claimed with `SELECT ... FOR UPDATE SKIP LOCKED`
(row_claims.py) and dispatched while its row is locked; dispatch's own commit (status
'queued') ends the lock. So several relays never dispatch one row twice, and one that
dies mid-pass leaves at most the event in hand to be sent again (same event id, same
Message-ID). A batch-wide lock would not survive that first per-event commit.

Only rows older than a grace period are taken: a fresh row is the request's own
dispatch to make, and racing it would publish the email twice.

After the pending rows, each pass also looks at 'queued' rows older than
`stale_after`, whose message the broker may have lost (see stale_queued.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Select, func, select

from bookshelf import notifications
from bookshelf.extensions import db
from bookshelf.models import EmailEvent
from bookshelf.row_claims import claim_each
from bookshelf.stale_queued import DEFAULT_STALE_AFTER, requeue_stale

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
DEFAULT_GRACE = timedelta(seconds=10)
DEFAULT_INTERVAL = 15.0
DEFAULT_HEARTBEAT = Path("/tmp/bookshelf-outbox-relay.heartbeat")  # noqa: S108 - tmpfs in prod


@dataclass(frozen=True)
class RelayResult:
    """One pass: what it queued, gave up on, and what is still waiting."""

    queued: int
    undeliverable: int  # invalid payloads, now 'failed'
    still_pending: int  # due rows left 'pending' (the broker refused, or beyond the batch)
    broker_down: bool
    seconds: float
    requeued: int = 0  # stale 'queued' rows with no task state, dispatched again
    settled: int = 0  # stale 'queued' rows whose final state was recorded

    @property
    def handled(self) -> int:
        return self.queued + self.undeliverable + self.requeued + self.settled


def _due_pending(cutoff: datetime) -> Select[EmailEvent]:
    """Pending events older than `cutoff`, oldest first."""
    return (
        select(EmailEvent)
        .where(EmailEvent.status == "pending", EmailEvent.created_at < cutoff)
        .order_by(EmailEvent.created_at, EmailEvent.id)
    )


def _count_due(cutoff: datetime) -> int:
    query = select(func.count()).where(
        EmailEvent.status == "pending", EmailEvent.created_at < cutoff
    )
    return db.session.scalar(query) or 0


def relay_pending(
    limit: int = DEFAULT_BATCH_SIZE,
    older_than: timedelta = DEFAULT_GRACE,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> RelayResult:
    """Dispatch up to `limit` pending events created more than `older_than` ago, then
    look at up to `limit` events queued more than `stale_after` ago (stale_queued.py).

    Stops at the first event the broker refuses: the rest would fail the same way,
    each costing up to the publish timeout. Needs an app context.
    """
    began = time.perf_counter()
    cutoff = datetime.now(UTC) - older_than
    queued = undeliverable = 0
    broker_down = False
    try:
        for event in claim_each(_due_pending(cutoff), limit):
            if notifications.dispatch(event):  # commits, which releases the row
                queued += 1
            elif event.status == "pending":
                broker_down = True
                break
            else:
                undeliverable += 1
        stale = None if broker_down else requeue_stale(limit, stale_after)
        still_pending = _count_due(cutoff)
    finally:
        db.session.rollback()  # ends the read-only tail of the pass; no lock outlives it
    return RelayResult(
        queued,
        undeliverable,
        still_pending,
        broker_down or (stale is not None and stale.broker_down),
        _since(began),
        requeued=stale.requeued if stale else 0,
        settled=stale.settled if stale else 0,
    )


def _since(began: float) -> float:
    return time.perf_counter() - began


class RelayLoop:
    """`relay_pending` every `interval` seconds until `stop()` (the CLI wires SIGTERM).

    A full batch is followed at once by the next pass, so a backlog drains at publish
    speed. Each finished pass touches `heartbeat`, which the container healthcheck
    reads; a pass that raises (database down) is logged and retried next interval.
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        grace: timedelta = DEFAULT_GRACE,
        heartbeat: Path | None = DEFAULT_HEARTBEAT,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
    ) -> None:
        self.interval = interval
        self.batch_size = batch_size
        self.grace = grace
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run_pass(self) -> RelayResult | None:
        try:
            result = relay_pending(self.batch_size, self.grace, self.stale_after)
        except Exception:
            log.exception("outbox relay pass failed; next try in %.0fs", self.interval)
            return None
        finally:
            db.session.remove()  # hand the connection back between passes
        if self.heartbeat is not None:
            self.heartbeat.touch()
        level = logging.INFO if result.handled or result.still_pending else logging.DEBUG
        log.log(
            level,
            "outbox relay: %d queued, %d undeliverable, %d still pending, "
            "%d stale re-queued, %d settled%s in %.3fs",
            result.queued, result.undeliverable, result.still_pending,
            result.requeued, result.settled,
            " (broker unavailable)" if result.broker_down else "", result.seconds,
        )  # fmt: skip
        return result

    def run(self) -> None:
        log.info(
            "outbox relay started: every %.1fs, batches of %d, grace %.1fs, stale after %.0fs",
            self.interval, self.batch_size, self.grace.total_seconds(),
            self.stale_after.total_seconds(),
        )  # fmt: skip
        while not self.stopping:
            result = self.run_pass()
            backlog = result is not None and result.handled >= self.batch_size
            if not backlog:
                self._stopping.wait(self.interval)
        log.info("outbox relay stopped")
