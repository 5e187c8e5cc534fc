"""The outbox rows a job writes: the import's summary and the daily digest, each a
Notice (bookshelf_tasks.notices) inserted in the transaction of the work it reports,
with an id fixed by that work, so that a second run inserts nothing
(docs/architecture.md, "Import jobs", "Email preferences and digest"). The relay
publishes them like every other email."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from bookshelf_tasks.delivery import EmailStatus, events
from bookshelf_tasks.digest import EmailPreference
from bookshelf_tasks.notices import Notice
from bookshelf_worker.digesting import Digest, users
from bookshelf_worker.importing import Claimed

# The summary's event id is derived from the job's: a second run's is the same row.
SUMMARY_NAMESPACE = uuid.UUID("0b9d7c1e-4a53-4c1f-8f0a-3e6a2d5c7b90")


def summary_event_id(job_id: str) -> str:
    return str(uuid.uuid5(SUMMARY_NAMESPACE, job_id))


def _insert_once(connection: Connection, owner_id: int, notice: Notice) -> bool:
    """INSERT … ON CONFLICT (id) DO NOTHING: True when the row is new."""
    inserted = connection.execute(
        insert(events)
        .values(
            id=notice.event_id,
            owner_id=owner_id,
            kind=notice.kind,
            payload=notice.to_dict(),
            status=EmailStatus.PENDING.value,
            attempts=0,
            publications=0,
            due_at=func.now(),  # the INSERT's NOTIFY wakes the relay at commit
            created_at=func.now(),
        )
        .on_conflict_do_nothing(index_elements=[events.c.id])
    ).rowcount
    return bool(inserted)


def _notice(event_id: str, kind: str, to: tuple[str, str, str], details: dict[str, Any]) -> Notice:
    """`to`: the reader's (email, name, locale). Validated here, before any INSERT."""
    email, name, locale = to
    return Notice(
        event_id=event_id,
        kind=kind,
        occurred_at=datetime.now(UTC).isoformat(),
        user_email=email,
        user_name=name,
        locale=locale,
        details=details,
    )


def write_digest(connection: Connection, digest: Digest) -> bool:
    details = {
        "day": digest.day.isoformat(),
        "timezone": digest.timezone,
        "added": digest.added,
        "deleted": digest.deleted,
        "added_count": digest.added_count,
        "deleted_count": digest.deleted_count,
    }
    to = (digest.user_email, digest.user_name, digest.locale)
    return _insert_once(
        connection, digest.owner_id, _notice(digest.event_id, "digest", to, details)
    )


def write_import_summary(
    connection: Connection, job: Claimed, imported: int, refused: list[dict[str, Any]]
) -> None:
    """In the job's own transaction: committed with its books, or not at all."""
    reader = connection.execute(select(users).where(users.c.id == job.owner_id)).one()
    if reader.email_preference == EmailPreference.NONE.value:
        return
    details = {
        "filename": job.filename,
        "timezone": reader.timezone,
        "imported": imported,
        "refused": len(refused),
    }
    to = (reader.email, reader.name, reader.locale)
    notice = _notice(summary_event_id(job.job_id), "import_summary", to, details)
    _insert_once(connection, job.owner_id, notice)
