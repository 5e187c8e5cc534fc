"""Every email's delivery state, in Postgres: the one state machine web and worker share.

The broker only carries "event X is due"; whether X may be sent, is being sent or was
sent is decided here, by conditional UPDATEs on the `email_events` row. The design
(states, leases, the point of no return, who moves a row where) is in
docs/architecture.md, "Email delivery state"; this module is its only implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, TypeVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Interval,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ColumnElement, Executable

from bookshelf_tasks.celery_config import EMAIL_MAX_RETRIES, TASK_HARD_TIME_LIMIT
from bookshelf_tasks.settings_env import number


class EmailStatus(StrEnum):
    PENDING = "pending"  # committed with the book; not on the broker yet
    QUEUED = "queued"  # published; waits for a worker to claim it
    SENDING = "sending"  # claimed by a worker, under a lease
    RETRYING = "retrying"  # a transient failure before the point of no return
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # the SMTP server refused it for good
    UNCERTAIN = "uncertain"  # lost after the point of no return: maybe delivered

    @property
    def in_flight(self) -> bool:
        """The relay watches the row's due time and moves it on when it passes."""
        return self in IN_FLIGHT

    @property
    def can_resend(self) -> bool:
        """The user may ask for it again (same event, same Message-ID)."""
        return self in RESENDABLE

    @property
    def delivered(self) -> bool:
        """The SMTP server accepted it."""
        return self is EmailStatus.SENT

    @property
    def maybe_delivered(self) -> bool:
        """Lost after the point of no return: the server may have kept it, so a resend
        may arrive twice."""
        return self is EmailStatus.UNCERTAIN


class HoldReason(StrEnum):
    """Why a `pending` row is held back from publication (`hold_reason`): with no due
    time it waits until something releases it; with a future one, until then."""

    UNVERIFIED = "unverified"  # the owner's address is not verified yet
    RATE_LIMITED = "rate_limited"  # the account's email pace deferred it (a due time)


IN_FLIGHT: Final = frozenset(
    {EmailStatus.PENDING, EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.RETRYING}
)
RESENDABLE: Final = frozenset({EmailStatus.PENDING, EmailStatus.FAILED, EmailStatus.UNCERTAIN})
# Finished without a delivery: what an operator looks at (and may retry in bulk).
DEAD_LETTERS: Final = frozenset({EmailStatus.FAILED, EmailStatus.UNCERTAIN})

# --- Time. All of it is Postgres' clock (now()), so web, worker and relay agree.


@dataclass(frozen=True)
class Leases:
    """How long each in-flight state lasts before the relay moves the row on; the
    numbers and their reasons: docs/architecture.md, "Leases". Safety never depends
    on them (the attempt fencing does), only how soon the relay looks again."""

    send: timedelta = timedelta(seconds=60)  # a worker's claim
    queued: timedelta = timedelta(seconds=60)  # a publication nobody claimed; doubles
    queued_max: timedelta = timedelta(minutes=30)
    retry_grace: timedelta = timedelta(seconds=30)  # after a retry's own countdown

    @property
    def doublings(self) -> int:
        """How many doublings take `queued` to `queued_max`."""
        return max(0, math.ceil(math.log2(self.queued_max / self.queued)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Leases:
        """OUTBOX_SEND_LEASE_SECONDS, OUTBOX_QUEUED_LEASE_SECONDS and
        OUTBOX_RETRY_GRACE_SECONDS, each optional; raises ConfigError on a bad one."""
        default = cls()

        def seconds(name: str, fallback: timedelta) -> timedelta:
            return timedelta(seconds=number(environ, name, fallback.total_seconds(), float))

        return cls(
            send=seconds("OUTBOX_SEND_LEASE_SECONDS", default.send),
            queued=seconds("OUTBOX_QUEUED_LEASE_SECONDS", default.queued),
            queued_max=default.queued_max,
            retry_grace=seconds("OUTBOX_RETRY_GRACE_SECONDS", default.retry_grace),
        )


LEASES: Final = Leases()
assert LEASES.send.total_seconds() > TASK_HARD_TIME_LIMIT
# Attempts (claims) before a transient failure becomes final: the first and its retries.
MAX_ATTEMPTS: Final = 1 + EMAIL_MAX_RETRIES
ERROR_MAX: Final = 2000
# The channel the relay LISTENs on; the outbox rows' INSERT trigger notifies it.
NOTIFY_CHANNEL: Final = "email_events_due"


def email_events_table(metadata: MetaData) -> Table:
    """The outbox table, defined once: the web maps its model on it, the worker writes it."""
    statuses = ", ".join(f"'{status}'" for status in EmailStatus)
    in_flight = ", ".join(f"'{status}'" for status in sorted(IN_FLIGHT))
    dead_letters = ", ".join(f"'{status}'" for status in sorted(DEAD_LETTERS))
    return Table(
        "email_events",
        metadata,
        Column("id", String(36), primary_key=True),  # the event id (UUID); also the task id
        Column("owner_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("kind", String(32), nullable=False),  # payload kind; its rules are the contract's
        Column("payload", JSON, nullable=False),
        Column("status", String(16), nullable=False, server_default=EmailStatus.PENDING.value),
        Column("attempts", Integer, nullable=False, server_default="0"),
        # `attempts` when the user last asked to send it again: the retry budget counts
        # from there, and `attempts` itself is never reset, so it stays a fencing token.
        Column("retry_budget_start", Integer, nullable=False, server_default="0"),
        Column("publications", Integer, nullable=False, server_default="0"),
        Column("due_at", DateTime(timezone=True)),
        Column("data_sent_at", DateTime(timezone=True)),
        Column("last_error", Text),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("queued_at", DateTime(timezone=True)),
        Column("delivered_at", DateTime(timezone=True)),
        Column("request_id", String(64)),
        # Why a pending row is held (HoldReason); NULL for every row on its way.
        Column("hold_reason", String(32)),
        CheckConstraint("kind ~ '^[a-z_]{1,32}$'", name="kind"),
        CheckConstraint(f"status IN ({statuses})", name="status"),
        CheckConstraint("hold_reason IS NULL OR status = 'pending'", name="hold_pending"),
        Index("ix_email_events_owner_created", "owner_id", "created_at"),
        # The relay's work list: only rows in flight, by due time.
        Index(
            "ix_email_events_due",
            "due_at",
            postgresql_where=text(f"status IN ({in_flight})"),
        ),
        # The operator's dead letters (the admin page, `flask outbox list`, the metrics).
        Index(
            "ix_email_events_dead_letters",
            "created_at",
            postgresql_where=text(f"status IN ({dead_letters})"),
        ),
    )


# The worker's own handle on the table; the web maps its model on db.metadata's copy.
events = email_events_table(MetaData())
_now = func.now()


def _seconds(delta: timedelta | float) -> ColumnElement[object]:
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
    return literal_column(f"interval '{seconds:.3f} seconds'")


def _clip(reason: str | None) -> str | None:
    return reason[:ERROR_MAX] if reason else None


def _status_in(*statuses: EmailStatus) -> ColumnElement[bool]:
    # Literals (the enum's own values): a list of bound values would be expanded into
    # the SQL at every execution.
    return events.c.status.in_([literal_column(f"'{status.value}'") for status in statuses])


def _not_held() -> ColumnElement[bool]:
    """No hold, or one whose due time has come (a NULL due time never comes)."""
    return or_(events.c.hold_reason.is_(None), events.c.due_at <= _now)


Bind = Engine | Connection
T = TypeVar("T")


@contextmanager
def _transaction(bind: Bind) -> Iterator[Connection]:
    """A transaction of its own on an Engine (the worker); the caller's on a Connection
    (the web's session, which commits itself)."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    else:
        yield bind


def _run(bind: Bind, statement: Executable) -> int:
    """Execute one UPDATE, return how many rows it changed."""
    with _transaction(bind) as connection:
        return connection.execute(statement).rowcount


def _on_worker(bind: Bind, work: Callable[[Connection], T]) -> T:
    """Run one of the worker's writes. On an Engine, a connection that turns out dead
    (Postgres restarted since its last use: the worker's pool does not ping before
    each use, a round trip per write) is replaced and `work` run once more. Every
    worker write is conditional, so a second run of one that did commit changes
    nothing: a claim then finds the row `sending` and drops the message as a copy, and
    the row waits for its lease like a claim whose reply was lost."""
    if not isinstance(bind, Engine):
        return work(bind)
    try:
        with bind.begin() as connection:
            return work(connection)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with bind.begin() as connection:
        return work(connection)


# --- The worker's writers. Each is fenced by the attempt number its claim returned, so
# a worker whose lease ran out cannot overwrite the attempt that replaced it. Built once
# with bound parameters: a statement built per email cost more CPU than its round trip.

_EVENT_ID = bindparam("event_id", type_=String)
_ATTEMPT = bindparam("attempt", type_=Integer)
_REASON = bindparam("reason", type_=Text)


def _for(seconds: str) -> ColumnElement[datetime]:
    """now() plus the interval bound to parameter `seconds` (a timedelta)."""
    return _now + bindparam(seconds, type_=Interval)


_CLAIMABLE = (EmailStatus.PENDING, EmailStatus.QUEUED, EmailStatus.RETRYING)
_CLAIM = (
    update(events)
    .where(events.c.id == _EVENT_ID, _status_in(*_CLAIMABLE), _not_held())
    .values(
        status=EmailStatus.SENDING.value,
        attempts=events.c.attempts + 1,
        due_at=_for("lease"),
        data_sent_at=None,
        hold_reason=None,
    )
    .returning(events.c.attempts, events.c.retry_budget_start)
)
_LOCK = select(events.c.id).where(events.c.id == _EVENT_ID).with_for_update()
# The fence: the row is sending under this claim's attempt, not a later one's.
_STILL_HELD = (
    events.c.id == _EVENT_ID,
    events.c.status == EmailStatus.SENDING.value,
    events.c.attempts == _ATTEMPT,
)
_PASS_POINT_OF_NO_RETURN = (
    update(events)
    .where(*_STILL_HELD, events.c.due_at > _now)
    .values(data_sent_at=_now, due_at=_for("lease"))
)
_RECORD_SENT = (
    update(events)
    .where(
        events.c.id == _EVENT_ID,
        _status_in(EmailStatus.SENDING, EmailStatus.UNCERTAIN),
        events.c.attempts == _ATTEMPT,
    )
    .values(status=EmailStatus.SENT.value, delivered_at=_now, due_at=None, last_error=None)
)
_FINISH = {  # the outcome's status -> its UPDATE
    status: update(events)
    .where(*_STILL_HELD)
    .values(
        status=status.value,
        last_error=_REASON,
        due_at=_for("due_in") if status is EmailStatus.RETRYING else None,
    )
    for status in (EmailStatus.RETRYING, EmailStatus.FAILED, EmailStatus.UNCERTAIN)
}


@dataclass(frozen=True)
class Claim:
    event_id: str
    attempt: int  # the fencing token: never reused for this event
    budget_start: int = 0  # attempts spent before the user's last "send again"

    @property
    def retries_left(self) -> bool:
        return self.attempt - self.budget_start < MAX_ATTEMPTS

    @property
    def fence(self) -> dict[str, object]:
        return {"event_id": self.event_id, "attempt": self.attempt}


def claim(bind: Bind, event_id: str, leases: Leases = LEASES) -> Claim | None:
    """queued/pending/retrying → sending, under a lease. None: someone else has it, or
    it is already done; the message is a duplicate and is dropped."""
    params = {"event_id": event_id, "lease": leases.send}

    def attempt(connection: Connection) -> Claim | None:
        claimed = connection.execute(_CLAIM, params).one_or_none()
        if claimed is None:
            # The relay publishes a 'sending' row whose lease ran out while it holds the
            # row, and commits 'queued' just after; the conditional UPDATE reads the row
            # as it was before that commit, without waiting for it, and would drop the
            # only message for the event as a copy. So before giving up: lock the row,
            # which waits for any holder, and look again with a statement of its own.
            connection.execute(_LOCK, params)
            claimed = connection.execute(_CLAIM, params).one_or_none()
        if claimed is None:
            return None
        return Claim(event_id, claimed.attempts, claimed.retry_budget_start)

    return _on_worker(bind, attempt)


def _changed_one(bind: Bind, statement: Executable, params: Mapping[str, object]) -> bool:
    return _on_worker(bind, lambda connection: connection.execute(statement, params).rowcount) == 1


def pass_point_of_no_return(bind: Bind, claim: Claim, leases: Leases = LEASES) -> bool:
    """Just before the message itself goes out (the server said 354 to DATA): True if
    the lease still holds (and is renewed for the send); False means another attempt
    may own the event: do not send."""
    return _changed_one(bind, _PASS_POINT_OF_NO_RETURN, claim.fence | {"lease": leases.send})


def record_sent(bind: Bind, claim: Claim) -> bool:
    """sending (or uncertain, if the relay gave up on a slow send) → sent."""
    return _changed_one(bind, _RECORD_SENT, claim.fence)


def record_retrying(
    bind: Bind, claim: Claim, countdown: float, reason: str, leases: Leases = LEASES
) -> bool:
    """sending → retrying: the task's own retry is due in `countdown` seconds; the
    relay steps in `leases.retry_grace` after that if the retry message was lost."""
    due_in = timedelta(seconds=countdown) + leases.retry_grace
    return _finish(bind, claim, EmailStatus.RETRYING, reason, due_in=due_in)


def record_failed(bind: Bind, claim: Claim, reason: str) -> bool:
    """sending → failed: the server refused it for good, or the retries ran out."""
    return _finish(bind, claim, EmailStatus.FAILED, reason)


def record_uncertain(bind: Bind, claim: Claim, reason: str) -> bool:
    """sending → uncertain: the connection was lost after the whole message went out;
    never resent by itself."""
    return _finish(bind, claim, EmailStatus.UNCERTAIN, reason)


def _finish(bind: Bind, claim: Claim, status: EmailStatus, reason: str, **params: object) -> bool:
    values = claim.fence | {"reason": _clip(reason)} | params
    return _changed_one(bind, _FINISH[status], values)


# --- The web's writers: publication, the relay's recovery, the user's resend.


def record_published(
    bind: Bind, event_id: str, from_status: EmailStatus, leases: Leases = LEASES
) -> bool:
    """pending/queued/retrying/sending (lease over, point of no return not passed) →
    queued, once its message is on the broker. Conditional on `from_status`, so a
    worker that claimed the row in the meantime is not overwritten."""
    if from_status not in IN_FLIGHT:  # nothing finished is ever published again
        return False
    lease = func.least(
        # The exponent is capped too: 2 ** 38 minutes is past Postgres' interval range.
        _seconds(leases.queued)
        * func.power(2, func.least(events.c.publications, leases.doublings)),
        _seconds(leases.queued_max),
    )
    conditions = [events.c.id == event_id, events.c.status == from_status.value, _not_held()]
    if from_status is EmailStatus.SENDING:
        conditions += [events.c.data_sent_at.is_(None), events.c.due_at <= _now]
    statement = (
        update(events)
        .where(*conditions)
        .values(
            status=EmailStatus.QUEUED.value,
            queued_at=_now,
            due_at=_now + lease,
            publications=events.c.publications + 1,
            hold_reason=None,
        )
    )
    return _run(bind, statement) == 1


def record_publish_failed(bind: Bind, event_id: str, reason: str) -> bool:
    """A pending row the broker refused: stays pending, with the reason shown."""
    statement = (
        update(events)
        .where(events.c.id == event_id, events.c.status == EmailStatus.PENDING.value)
        .values(last_error=_clip(reason))
    )
    return _run(bind, statement) == 1


def record_invalid(bind: Bind, event_id: str, reason: str) -> bool:
    """A row whose payload cannot be published (a bug in what the web wrote): in flight,
    not claimed → failed. Retrying could not help."""
    statement = (
        update(events)
        .where(
            events.c.id == event_id,
            _status_in(EmailStatus.PENDING, EmailStatus.QUEUED, EmailStatus.RETRYING),
            _not_held(),
        )
        .values(
            status=EmailStatus.FAILED.value, due_at=None, last_error=_clip(reason), hold_reason=None
        )
    )
    return _run(bind, statement) == 1


def record_lost_after_data(bind: Bind, event_id: str) -> bool:
    """The relay's verdict on a send whose worker vanished after the point of no
    return: sending (lease over, DATA begun) → uncertain."""
    statement = (
        update(events)
        .where(
            events.c.id == event_id,
            events.c.status == EmailStatus.SENDING.value,
            events.c.data_sent_at.is_not(None),
            events.c.due_at <= _now,
        )
        .values(
            status=EmailStatus.UNCERTAIN.value,
            due_at=None,
            last_error="the worker stopped after handing the message to the mail server",
        )
    )
    return _run(bind, statement) == 1


def record_resend(bind: Bind, event_id: str) -> bool:
    """The user's "send again": failed/uncertain/pending → pending, a fresh retry budget
    (counted from here; the attempt numbers go on, so an old attempt stays fenced off).
    A held row is not the user's to release."""
    statement = (
        update(events)
        .where(
            events.c.id == event_id,
            _status_in(*RESENDABLE),
            events.c.hold_reason.is_(None),
        )
        .values(
            status=EmailStatus.PENDING.value,
            retry_budget_start=events.c.attempts,
            publications=0,
            due_at=_now,
            data_sent_at=None,
            last_error=None,
            delivered_at=None,
        )
    )
    return _run(bind, statement) == 1


def release_holds(bind: Bind, owner_id: int, reason: HoldReason, to: str | None = None) -> int:
    """Every row of `owner_id` held for `reason` (and addressed `to`, if given) → due
    now, in one UPDATE; returns how many. The relay is notified at commit, as for a new
    row (its INSERT trigger)."""
    conditions = [
        events.c.owner_id == owner_id,
        events.c.status == EmailStatus.PENDING.value,
        events.c.hold_reason == reason.value,
    ]
    if to is not None:
        conditions.append(events.c.payload["user_email"].as_string() == to)
    statement = update(events).where(*conditions).values(hold_reason=None, due_at=_now)
    with _transaction(bind) as connection:
        released = connection.execute(statement).rowcount
        if released:
            connection.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
    return released
