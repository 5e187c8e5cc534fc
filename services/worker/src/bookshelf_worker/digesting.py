"""The daily digest: for each user whose preference is `digest`, one outbox row per
local day that had changes, whose id is derived from (user, day), so that however
often beat or the hook runs it, the row is inserted once (docs/architecture.md,
"Email preferences and digest"). The email itself goes the outbox's way, like any other."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import MetaData, column, delete, select, table
from sqlalchemy.engine import Connection, Engine

from bookshelf_tasks.digest import EmailPreference, book_activity_table, digest_event_id
from bookshelf_tasks.notices import DIGEST_MAX_BOOKS

log = logging.getLogger(__name__)
activity = book_activity_table(MetaData())
users = table(
    "users",
    column("id"),
    column("name"),
    column("email"),
    column("locale"),
    column("timezone"),
    column("email_preference"),
)
# Activity is kept this long, so a digest that could not be written for a few days
# (beat down) can still be written by the hook for a given day.
KEEP_ACTIVITY = timedelta(days=8)


@dataclass(frozen=True)
class Digest:
    event_id: str
    owner_id: int
    day: date
    user_email: str
    user_name: str
    locale: str
    timezone: str
    # {title, author, isbn, year} as notices.books() lists them (activity keeps no
    # ISBN or year: null), in the order they happened, at most DIGEST_MAX_BOOKS each.
    added: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    added_count: int
    deleted_count: int


DigestWriter = Callable[[Connection, Digest], bool]  # True when the row was new


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def due_day(now: datetime, zone: ZoneInfo) -> date:
    """The day whose digest is due: yesterday, in the user's zone."""
    return now.astimezone(zone).date() - timedelta(days=1)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def collect(connection: Connection, user: Any, day: date) -> Digest | None:
    start, end = day_bounds(day, zone_of(user.timezone))
    found = connection.execute(
        select(activity.c.kind, activity.c.title, activity.c.author, activity.c.occurred_at)
        .where(
            activity.c.owner_id == user.id,
            activity.c.occurred_at >= start,
            activity.c.occurred_at < end,
        )
        .order_by(activity.c.occurred_at, activity.c.id)
    ).all()
    if not found:
        return None
    by_kind: dict[str, list[dict[str, Any]]] = {"added": [], "deleted": []}
    for change in found:
        by_kind[change.kind].append(
            {"title": change.title, "author": change.author, "isbn": None, "year": None}
        )
    added, deleted = by_kind["added"], by_kind["deleted"]
    return Digest(
        digest_event_id(user.id, day), user.id, day, user.email, user.name, user.locale,
        user.timezone, added[:DIGEST_MAX_BOOKS], deleted[:DIGEST_MAX_BOOKS], len(added),
        len(deleted),
    )  # fmt: skip


def run_digests(
    engine: Engine, write: DigestWriter, day: date | None = None, now: datetime | None = None
) -> int:
    """Write each digest user's digest for `day` (default: their yesterday); one short
    transaction per user. Returns how many rows were new."""
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        readers = connection.execute(
            select(users).where(users.c.email_preference == EmailPreference.DIGEST.value)
        ).all()
    written = 0
    for reader in readers:
        wanted = day or due_day(now, zone_of(reader.timezone))
        with engine.begin() as connection:
            digest = collect(connection, reader, wanted)
            if digest is not None and write(connection, digest):
                written += 1
    with engine.begin() as connection:
        connection.execute(delete(activity).where(activity.c.occurred_at < now - KEEP_ACTIVITY))
    # Logged when nothing is written too: a rerun that rightly writes nothing is seen.
    log.info("digest day=%s written=%d", day or "yesterday", written)
    return written
