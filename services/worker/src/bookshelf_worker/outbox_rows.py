"""The outbox rows a job writes: the import's summary and the daily digest, each
inserted in the transaction of the work it reports, with a fixed id so that a second
run inserts nothing (docs/architecture.md, "Import jobs", "Email preferences and
digest"). The relay publishes them like every other email."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from bookshelf_tasks.delivery import EmailStatus, events
from bookshelf_tasks.digest import EmailPreference
from bookshelf_worker.digesting import Digest, users
from bookshelf_worker.importing import Claimed

# The summary's event id: derived from the job's, so a second run's is the same row.
SUMMARY_NAMESPACE = uuid.UUID("0b9d7c1e-4a53-4c1f-8f0a-3e6a2d5c7b90")


def _insert_once(connection: Connection, event_id: str, owner_id: int, kind: str,
                 payload: dict[str, Any]) -> bool:  # fmt: skip
    inserted = connection.execute(
        insert(events)
        .values(
            id=event_id,
            owner_id=owner_id,
            kind=kind,
            payload=payload,
            status=EmailStatus.PENDING.value,
            attempts=0,
            publications=0,
            due_at=func.now(),
            created_at=func.now(),
        )
        .on_conflict_do_nothing(index_elements=[events.c.id])
    ).rowcount
    return bool(inserted)


def write_digest(connection: Connection, digest: Digest) -> bool:
    payload = {
        "event_id": digest.event_id,
        "kind": "digest",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_email": digest.user_email,
        "user_name": digest.user_name,
        "locale": digest.locale,
        "timezone": digest.timezone,
        "day": digest.day.isoformat(),
        "total": digest.total,
        "changes": digest.items,
    }
    return _insert_once(connection, digest.event_id, digest.owner_id, "digest", payload)


def write_import_summary(
    connection: Connection, job: Claimed, imported: int, refused: list[dict[str, Any]]
) -> None:
    """In the job's own transaction: committed with its books, or not at all."""
    reader = connection.execute(select(users).where(users.c.id == job.owner_id)).one()
    if reader.email_preference == EmailPreference.NONE.value:
        return
    event_id = str(uuid.uuid5(SUMMARY_NAMESPACE, job.job_id))
    payload = {
        "event_id": event_id,
        "kind": "import_summary",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_email": reader.email,
        "user_name": reader.name,
        "locale": reader.locale,
        "timezone": reader.timezone,
        "job_id": job.job_id,
        "imported": imported,
        "refused": len(refused),
    }
    _insert_once(connection, event_id, job.owner_id, "import_summary", payload)
