"""Claiming email events one row at a time, for the relay's passes.

Each row is taken with `SELECT ... FOR UPDATE SKIP LOCKED` and handled while locked;
the handler's own commit ends the lock. So several relays never handle one row twice,
and a batch-wide lock (which the first per-row commit would end) is not needed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from sqlalchemy import Select

from bookshelf.extensions import db
from bookshelf.models import EmailEvent


def claim_one(query: Select[EmailEvent], skip: Collection[str]) -> EmailEvent | None:
    """Lock the first row of `query` that no other session holds and is not in `skip`."""
    query = query.limit(1).with_for_update(skip_locked=True)
    if skip:
        query = query.where(EmailEvent.id.not_in(skip))
    return db.session.scalar(query.execution_options(populate_existing=True))


def claim_each(query: Select[EmailEvent], limit: int) -> Iterator[EmailEvent]:
    """Claim up to `limit` rows of `query` in its order, each one once: a row the
    caller left matching `query` (not sent, left alone) is not claimed again."""
    seen: list[str] = []
    while len(seen) < limit:
        event = claim_one(query, seen)
        if event is None:
            return
        seen.append(event.id)
        yield event
