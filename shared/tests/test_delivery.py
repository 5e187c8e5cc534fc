"""The delivery state machine against a real Postgres: claims, fencing, leases, and
that every writer only makes the transitions TRANSITIONS (below) allows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bookshelf_tasks import delivery
from bookshelf_tasks.delivery import Claim, EmailStatus, events

# From each status, where a writer may take a row (docs/architecture.md, "Email delivery state").
TRANSITIONS: dict[EmailStatus, set[EmailStatus]] = {
    EmailStatus.PENDING: {EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.FAILED},
    EmailStatus.QUEUED: {EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.FAILED},
    EmailStatus.SENDING: {
        EmailStatus.SENT,
        EmailStatus.RETRYING,
        EmailStatus.FAILED,
        EmailStatus.UNCERTAIN,
        EmailStatus.QUEUED,
    },
    EmailStatus.RETRYING: {EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.FAILED},
    EmailStatus.SENT: set(),
    EmailStatus.FAILED: {EmailStatus.PENDING},
    EmailStatus.UNCERTAIN: {EmailStatus.PENDING, EmailStatus.SENT},
}


def new_event(engine: Engine, status: EmailStatus = EmailStatus.QUEUED, **values: Any) -> str:
    event_id = str(uuid.uuid4())
    row = {
        "id": event_id,
        "owner_id": 1,
        "kind": "added",
        "payload": {"event_id": event_id},
        "status": status.value,
        "created_at": text("now()"),
        "due_at": text("now() + interval '1 minute'"),
        **values,
    }
    with engine.begin() as connection:
        connection.execute(insert(events).values(**row))
    return event_id


def row(engine: Engine, event_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(events).where(events.c.id == event_id)).one()


def expire(engine: Engine, event_id: str) -> None:
    """Move the row's due time (its lease) into the past."""
    with engine.begin() as connection:
        connection.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(due_at=text("now() - interval '1 second'"))
        )


def seconds_until_due(engine: Engine, event_id: str) -> float:
    with engine.connect() as connection:
        query = select(text("extract(epoch FROM due_at - now())")).select_from(events)
        return float(connection.execute(query.where(events.c.id == event_id)).scalar_one())


def test_a_claim_is_taken_once(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    first = delivery.claim(outbox_engine, event_id)
    assert first == Claim(event_id, 1)
    assert delivery.claim(outbox_engine, event_id) is None  # a second message: a copy
    claimed = row(outbox_engine, event_id)
    assert claimed.status == "sending" and claimed.attempts == 1
    assert 55 < seconds_until_due(outbox_engine, event_id) <= 60


def test_concurrent_claims_give_one_winner(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: delivery.claim(outbox_engine, event_id), range(8)))
    assert [claim for claim in claims if claim is not None] == [Claim(event_id, 1)]


@pytest.mark.parametrize(
    "status", [EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.UNCERTAIN, EmailStatus.SENDING]
)
def test_no_claim_on_a_finished_or_held_event(outbox_engine: Engine, status: EmailStatus) -> None:
    assert delivery.claim(outbox_engine, new_event(outbox_engine, status)) is None


def test_the_point_of_no_return_needs_a_live_lease(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    claim = delivery.claim(outbox_engine, event_id)
    assert claim is not None
    assert delivery.pass_point_of_no_return(outbox_engine, claim)
    assert row(outbox_engine, event_id).data_sent_at is not None
    expire(outbox_engine, event_id)
    assert not delivery.pass_point_of_no_return(outbox_engine, claim)


def test_a_stale_attempt_cannot_write_over_its_successor(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    stale = delivery.claim(outbox_engine, event_id)
    assert stale is not None
    expire(outbox_engine, event_id)
    assert delivery.record_published(outbox_engine, event_id, EmailStatus.SENDING)
    current = delivery.claim(outbox_engine, event_id)
    assert current == Claim(event_id, 2)
    assert not delivery.pass_point_of_no_return(outbox_engine, stale)
    assert not delivery.record_sent(outbox_engine, stale)
    assert not delivery.record_failed(outbox_engine, stale, "550 no")
    assert row(outbox_engine, event_id).status == "sending"
    assert delivery.record_sent(outbox_engine, current)
    assert row(outbox_engine, event_id).status == "sent"


def test_a_late_250_turns_uncertain_into_sent(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    claim = delivery.claim(outbox_engine, event_id)
    assert claim is not None and delivery.pass_point_of_no_return(outbox_engine, claim)
    expire(outbox_engine, event_id)
    assert delivery.record_lost_after_data(outbox_engine, event_id)
    assert row(outbox_engine, event_id).status == "uncertain"
    assert delivery.record_sent(outbox_engine, claim)
    assert row(outbox_engine, event_id).status == "sent"


def test_lost_after_data_needs_the_data_mark_and_an_expired_lease(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    claim = delivery.claim(outbox_engine, event_id)
    assert claim is not None
    expire(outbox_engine, event_id)
    assert not delivery.record_lost_after_data(outbox_engine, event_id)  # no DATA: resend
    other = new_event(outbox_engine)
    other_claim = delivery.claim(outbox_engine, other)
    assert other_claim is not None and delivery.pass_point_of_no_return(outbox_engine, other_claim)
    assert not delivery.record_lost_after_data(outbox_engine, other)  # lease still live


def test_publication_leases_double_up_to_the_cap(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine, EmailStatus.PENDING)
    expected = [60, 120, 240, 480, 960, 1800, 1800]
    leases = []
    from_status = EmailStatus.PENDING
    for _ in expected:
        assert delivery.record_published(outbox_engine, event_id, from_status)
        leases.append(seconds_until_due(outbox_engine, event_id))
        from_status = EmailStatus.QUEUED
    assert [round(lease) for lease in leases] == expected
    assert row(outbox_engine, event_id).publications == len(expected)


def test_a_publication_never_overwrites_a_claim(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine, EmailStatus.PENDING)
    claim = delivery.claim(outbox_engine, event_id)  # the worker was faster than the web
    assert claim is not None
    assert not delivery.record_published(outbox_engine, event_id, EmailStatus.PENDING)
    assert row(outbox_engine, event_id).status == "sending"


def test_a_claim_waits_for_the_relay_that_holds_the_row(outbox_engine: Engine) -> None:
    """The relay republishes a 'sending' row whose lease ran out while it holds the row
    (FOR UPDATE) and records 'queued' just after. A worker that gets the message in
    between must wait for that commit: read before it, the row says 'sending' and the
    only message for the event would be dropped as a copy."""
    event_id = new_event(outbox_engine, EmailStatus.SENDING, attempts=1)
    expire(outbox_engine, event_id)
    with outbox_engine.connect() as relay, ThreadPoolExecutor(max_workers=1) as pool:
        held = relay.begin()
        relay.execute(select(events.c.id).where(events.c.id == event_id).with_for_update())
        claiming = pool.submit(delivery.claim, outbox_engine, event_id)  # the message arrived
        assert wait_for_lock_wait(outbox_engine, claiming)
        assert delivery.record_published(relay, event_id, EmailStatus.SENDING)
        held.commit()
        assert claiming.result(timeout=10) == Claim(event_id, 2)


def wait_for_lock_wait(engine: Engine, claiming: Future[Claim | None]) -> bool:
    """True once a session of this database waits on a row lock; False if `claiming`
    finished first (it did not wait)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not claiming.done():
        with engine.connect() as connection:
            if connection.execute(waiting).scalar_one():
                return True
        time.sleep(0.01)
    return False


def test_a_retry_is_due_after_its_countdown_and_the_grace(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine)
    claim = delivery.claim(outbox_engine, event_id)
    assert claim is not None
    assert delivery.record_retrying(outbox_engine, claim, 4.0, "451 later")
    retrying = row(outbox_engine, event_id)
    assert (retrying.status, retrying.last_error) == ("retrying", "451 later")
    expected = 4 + delivery.LEASES.retry_grace.total_seconds()
    assert expected - 5 < seconds_until_due(outbox_engine, event_id) <= expected
    assert delivery.claim(outbox_engine, event_id) == Claim(event_id, 2)


def test_resend_starts_a_new_budget_but_never_after_sent(outbox_engine: Engine) -> None:
    event_id = new_event(outbox_engine, EmailStatus.FAILED, attempts=6, last_error="550 no")
    assert delivery.record_resend(outbox_engine, event_id)
    resent = row(outbox_engine, event_id)
    assert (resent.status, resent.last_error) == ("pending", None)
    # The budget starts again, the attempt numbers go on: no attempt number is reused.
    assert (resent.attempts, resent.retry_budget_start) == (6, 6)
    assert delivery.claim(outbox_engine, event_id) == Claim(event_id, 7, 6)
    assert not delivery.record_resend(outbox_engine, new_event(outbox_engine, EmailStatus.SENT))


def _writers() -> dict[str, Callable[[Engine, str], object]]:
    claim = Claim("", 1)

    def fenced(write: Callable[[Engine, Claim], object]) -> Callable[[Engine, str], object]:
        return lambda engine, event_id: write(engine, Claim(event_id, claim.attempt))

    writers: dict[str, Callable[[Engine, str], object]] = {
        "claim": delivery.claim,
        "pass_point_of_no_return": fenced(delivery.pass_point_of_no_return),
        "record_sent": fenced(delivery.record_sent),
        "record_retrying": fenced(lambda e, c: delivery.record_retrying(e, c, 1.0, "451")),
        "record_failed": fenced(lambda e, c: delivery.record_failed(e, c, "550")),
        "record_uncertain": fenced(lambda e, c: delivery.record_uncertain(e, c, "timeout")),
        "record_publish_failed": lambda e, i: delivery.record_publish_failed(e, i, "down"),
        "record_invalid": lambda e, i: delivery.record_invalid(e, i, "bad payload"),
        "record_lost_after_data": delivery.record_lost_after_data,
        "record_resend": lambda e, i: delivery.record_resend(e, i),
    }
    for status in EmailStatus:
        writers[f"record_published_from_{status}"] = lambda e, i, status=status: (
            delivery.record_published(e, i, status)
        )
    return writers


@pytest.mark.parametrize("writer", sorted(_writers()))
@pytest.mark.parametrize("status", list(EmailStatus))
@pytest.mark.parametrize("lease", ["live", "expired"])
def test_every_writer_keeps_to_the_transition_table(
    outbox_engine: Engine, writer: str, status: EmailStatus, lease: str
) -> None:
    event_id = new_event(
        outbox_engine,
        status,
        attempts=1,
        data_sent_at=text("now()") if writer == "record_lost_after_data" else None,
    )
    if lease == "expired":
        expire(outbox_engine, event_id)
    _writers()[writer](outbox_engine, event_id)
    after = EmailStatus(row(outbox_engine, event_id).status)
    assert after == status or after in TRANSITIONS[status], (writer, status, after)


# --- Held rows (docs/architecture.md, "Holding an email").


def held_event(engine: Engine, owner_id: int = 1, due: str | None = None) -> str:
    """A pending row held as `unverified`: no due time, or `due` (SQL) for a timed hold."""
    return new_event(
        engine,
        EmailStatus.PENDING,
        owner_id=owner_id,
        hold_reason=delivery.HoldReason.UNVERIFIED.value,
        due_at=text(due) if due else None,
    )


def new_owner(engine: Engine) -> int:
    """A users row of its own, so that a release counts only this test's rows."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO users (id) SELECT coalesce(max(id), 0) + 1 FROM users RETURNING id"
                )
            ).scalar_one()
        )


@pytest.mark.parametrize("writer", sorted(_writers()))
def test_no_writer_moves_a_held_row(outbox_engine: Engine, writer: str) -> None:
    event_id = held_event(outbox_engine)
    _writers()[writer](outbox_engine, event_id)
    after = row(outbox_engine, event_id)
    assert (after.status, after.hold_reason, after.due_at) == ("pending", "unverified", None)


def test_a_timed_hold_is_claimed_once_its_time_has_come(outbox_engine: Engine) -> None:
    """A hold with a due time (what a rate limit uses) waits until then, no longer."""
    waiting = held_event(outbox_engine, due="now() + interval '1 hour'")
    assert delivery.claim(outbox_engine, waiting) is None
    assert not delivery.record_published(outbox_engine, waiting, EmailStatus.PENDING)
    come = held_event(outbox_engine, due="now() - interval '1 second'")
    assert delivery.record_published(outbox_engine, come, EmailStatus.PENDING)
    published = row(outbox_engine, come)
    assert (published.status, published.hold_reason) == ("queued", None)


def test_only_a_pending_row_can_be_held(outbox_engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        new_event(outbox_engine, EmailStatus.QUEUED, hold_reason="unverified")


def test_release_frees_one_owners_rows_held_for_that_reason_in_one_update(
    outbox_engine: Engine,
) -> None:
    owner, neighbour = new_owner(outbox_engine), new_owner(outbox_engine)
    mine = [held_event(outbox_engine, owner) for _ in range(3)]
    other = held_event(outbox_engine, neighbour)
    listener = outbox_engine.connect()
    listener.execute(text(f"LISTEN {delivery.NOTIFY_CHANNEL}"))
    listener.commit()

    assert delivery.release_holds(outbox_engine, owner, delivery.HoldReason.UNVERIFIED) == 3

    for event_id in mine:
        released = row(outbox_engine, event_id)
        assert (released.status, released.hold_reason) == ("pending", None)
        assert seconds_until_due(outbox_engine, event_id) <= 0  # due now: the relay takes it
        assert delivery.claim(outbox_engine, event_id) == Claim(event_id, 1)
    assert row(outbox_engine, other).hold_reason == "unverified"
    raw = listener.connection.dbapi_connection
    raw.poll()  # type: ignore[union-attr]
    assert [n.channel for n in raw.notifies] == [delivery.NOTIFY_CHANNEL]  # type: ignore[union-attr]
    listener.close()
    assert delivery.release_holds(outbox_engine, owner, delivery.HoldReason.UNVERIFIED) == 0
