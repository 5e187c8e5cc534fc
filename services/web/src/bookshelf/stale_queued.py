"""Queued email events whose message the broker may have lost; the relay's second job.

A row says 'queued' once the broker took its message. A broker that loses its data
(redis without persistence restarted, KeyDB crashing before its everysec AOF fsync)
loses the message too, and nothing else would send that email again: the relay takes
'pending' rows and the retry button refuses 'queued' ones. So the relay also claims
'queued' rows whose queued_at is older than `stale_after`, oldest first, and reads
their task's state:
- PENDING (what Celery reports for an id it has no record of) and its message still
  on the broker (bookshelf.broker_messages, read once per pass): waiting in a long
  queue, e.g. while no worker runs; left alone, or each pass would add a copy.
- PENDING and its message gone: dispatched again with the same event id, task id and
  request id, so the same Message-ID. Should a copy still arrive (a race with a
  worker), the worker's sent-marker (bookshelf_worker.sent_markers) skips whichever
  comes second. `dispatch` resets queued_at, so the row is not sent again at every
  pass. If the broker cannot be read, the pass stops there.
- a final state (SUCCESS, FAILURE...): recorded on the row as the notifications page
  does, which takes the row out of this set for good.
- STARTED, RETRY: a worker has it; left alone.
Rows queued more than STALE_MAX_AGE ago are never re-sent: past result_expires the
state and the worker's sent-marker are both gone, so PENDING could be an email that
was delivered days ago.

Claiming is the relay's (row_claims.py): `SELECT ... FOR UPDATE SKIP LOCKED`, one row
at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from celery import states
from sqlalchemy import Select, select

from bookshelf import notifications
from bookshelf.broker_messages import task_ids_on_broker
from bookshelf.extensions import db
from bookshelf.models import EmailEvent
from bookshelf.row_claims import claim_each
from bookshelf_tasks.celery_config import RESULT_EXPIRES

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = timedelta(minutes=10)
# A day's margin below result_expires, for clocks and the time a send takes.
STALE_MAX_AGE = timedelta(seconds=RESULT_EXPIRES) - timedelta(days=1)


@dataclass(frozen=True)
class StaleResult:
    requeued: int  # dispatched again: no state, the message was likely lost
    settled: int  # a final state found and recorded ('sent' or 'failed')
    broker_down: bool  # the result backend or the broker did not answer


def _stale_queued(oldest: datetime, newest: datetime) -> Select[EmailEvent]:
    """Queued events whose queued_at is between `oldest` and `newest`, oldest first."""
    return (
        select(EmailEvent)
        .where(
            EmailEvent.status == "queued",
            EmailEvent.queued_at < newest,
            EmailEvent.queued_at > oldest,
        )
        .order_by(EmailEvent.queued_at, EmailEvent.id)
    )


def requeue_stale(limit: int, stale_after: timedelta = DEFAULT_STALE_AFTER) -> StaleResult:
    """Look at up to `limit` stale queued events (see the module docstring).

    Stops at the first event whose state cannot be read or whose message the broker
    refuses. Needs an app context; leaves no row locked.
    """
    now = datetime.now(UTC)
    newest, oldest = now - stale_after, now - STALE_MAX_AGE
    requeued = settled = 0
    on_broker: set[str] | None = None  # read at the first PENDING row, once per pass
    try:
        for event in claim_each(_stale_queued(oldest, newest), limit):
            task_id = event.task_id or event.id
            try:
                meta = notifications.task_metas([task_id]).get(task_id)
            except Exception as error:  # noqa: BLE001 - redis and socket errors alike
                log.warning("stale email event %s: state unreadable: %s", event.id, error)
                return StaleResult(requeued, settled, broker_down=True)
            if meta is None or meta.get("status") == states.PENDING:
                if on_broker is None:
                    try:
                        on_broker = task_ids_on_broker()
                    except Exception as error:  # noqa: BLE001 - redis and socket errors alike
                        log.warning("stale pass skipped: broker queue unreadable: %s", error)
                        return StaleResult(requeued, settled, broker_down=True)
                if task_id in on_broker:
                    log.debug("email event %s is still waiting on the broker", event.id)
                    continue
                log.info(
                    "email event %s queued at %s has no task state nor message; queueing it again",
                    event.id, event.queued_at,
                )  # fmt: skip
                if notifications.dispatch(event):  # commits, which releases the row
                    requeued += 1
                elif event.status == "pending":  # the relay's pending pass takes it next
                    return StaleResult(requeued, settled, broker_down=True)
                continue
            _, recorded = notifications.record_final_state(event, meta)
            db.session.commit()  # records it, or only releases a row still in progress
            settled += recorded
    finally:
        db.session.rollback()
    return StaleResult(requeued, settled, broker_down=False)
