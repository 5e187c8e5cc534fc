"""The daily digest's collection on a real Postgres: each digest user's local day, in
their zone; other preferences and empty days write nothing; old activity is dropped."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine

from bookshelf_tasks.digest import digest_event_id
from bookshelf_worker.digesting import Digest, activity, day_bounds, due_day, run_digests


def reader(engine: Engine, preference: str, zone: str) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO users (name, email, password_hash, created_at, "
                    "email_preference, timezone) VALUES ('Ana', :email, '-', now(), :pref, :zone) "
                    "RETURNING id"
                ),
                {
                    "email": f"d-{uuid.uuid4().hex[:12]}@example.com",
                    "pref": preference,
                    "zone": zone,
                },
            ).scalar_one()
        )


def change(engine: Engine, owner: int, title: str, at: datetime, kind: str = "added") -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(activity).values(
                owner_id=owner, kind=kind, title=title, author="A", occurred_at=at
            )
        )


class Collected:
    """A writer that keeps what it is handed (the outbox row's content)."""

    def __init__(self, owners: set[int]) -> None:
        self.owners = owners
        self.digests: list[Digest] = []

    def __call__(self, connection: Connection, digest: Digest) -> bool:
        if digest.owner_id in self.owners:
            self.digests.append(digest)
        return True


def test_due_day_is_yesterday_in_the_users_zone() -> None:
    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 2 March in UTC, still 1 March in Bogotá
    assert due_day(now, ZoneInfo("UTC")) == date(2026, 3, 1)
    assert due_day(now, ZoneInfo("America/Bogota")) == date(2026, 2, 28)
    start, end = day_bounds(date(2026, 3, 1), ZoneInfo("Europe/Madrid"))
    assert (start, end - start) == (datetime(2026, 2, 28, 23, 0, tzinfo=UTC), timedelta(days=1))


def test_one_digest_per_digest_user_with_changes_that_day(outbox_engine: Engine) -> None:
    madrid = reader(outbox_engine, "digest", "Europe/Madrid")
    quiet = reader(outbox_engine, "digest", "UTC")
    each = reader(outbox_engine, "each", "UTC")
    day = date(2026, 5, 10)
    change(outbox_engine, madrid, "Late on the 9th (UTC), 10th in Madrid",
           datetime(2026, 5, 9, 22, 30, tzinfo=UTC))  # fmt: skip
    change(outbox_engine, madrid, "Deleted", datetime(2026, 5, 10, 12, 0, tzinfo=UTC), "deleted")
    change(outbox_engine, madrid, "Next day in Madrid", datetime(2026, 5, 10, 22, 30, tzinfo=UTC))
    change(outbox_engine, each, "Not a digest user", datetime(2026, 5, 10, 12, 0, tzinfo=UTC))
    collected = Collected({madrid, quiet, each})
    run_digests(outbox_engine, collected, day=day, now=datetime(2026, 5, 12, tzinfo=UTC))
    [digest] = collected.digests
    assert digest.owner_id == madrid and digest.day == day
    assert digest.event_id == digest_event_id(madrid, day)
    assert [book["title"] for book in digest.added] == ["Late on the 9th (UTC), 10th in Madrid"]
    assert [book["title"] for book in digest.deleted] == ["Deleted"]
    assert (digest.added_count, digest.deleted_count) == (1, 1)
    assert digest.timezone == "Europe/Madrid"


def test_activity_older_than_a_week_is_dropped(outbox_engine: Engine) -> None:
    owner = reader(outbox_engine, "digest", "UTC")
    now = datetime.now(UTC)
    change(outbox_engine, owner, "old", now - timedelta(days=9))
    change(outbox_engine, owner, "recent", now - timedelta(days=1))
    run_digests(outbox_engine, Collected(set()), now=now)
    with outbox_engine.connect() as connection:
        titles = connection.scalars(select(activity.c.title).where(activity.c.owner_id == owner))
        assert list(titles) == ["recent"]


@pytest.mark.parametrize("user_id, day", [(1, date(2026, 1, 1)), (42, date(2030, 12, 31))])
def test_the_digest_id_is_fixed_per_user_and_day(user_id: int, day: date) -> None:
    assert digest_event_id(user_id, day) == digest_event_id(user_id, day)
    assert digest_event_id(user_id, day) != digest_event_id(user_id + 1, day)
    assert digest_event_id(user_id, day) != digest_event_id(user_id, day + timedelta(days=1))
