"""book_activity rows: what a digest user changed, for their daily digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped

from bookshelf.extensions import db
from bookshelf_tasks.digest import book_activity_table


class BookActivity(db.Model):  # type: ignore[name-defined]
    __table__ = book_activity_table(db.metadata)

    id: Mapped[int]
    owner_id: Mapped[int]
    kind: Mapped[str]
    title: Mapped[str]
    author: Mapped[str]
    occurred_at: Mapped[datetime]
