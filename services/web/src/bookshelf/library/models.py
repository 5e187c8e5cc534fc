"""A user's book: typed SQLAlchemy 2 model; every read filters by owner (queries.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookshelf.extensions import db, utcnow

if TYPE_CHECKING:
    from bookshelf.accounts.models import User

TITLE_MAX = 200
AUTHOR_MAX = 200
NOTES_MAX = 2000


class Book(db.Model):  # type: ignore[name-defined]
    __tablename__ = "books"
    __table_args__ = (Index("ix_books_owner_id_title", "owner_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    author: Mapped[str] = mapped_column(String(AUTHOR_MAX))
    isbn: Mapped[str | None] = mapped_column(String(13))
    year: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    owner: Mapped[User] = relationship(back_populates="books")

    def to_dict(self) -> dict[str, Any]:
        """What the API says of the book (openapi.yaml, Book)."""
        return {
            "id": self.id,
            "title": self.title,
            "author": self.author,
            "isbn": self.isbn,
            "year": self.year,
            "notes": self.notes,
            "created_at": self.created_at.isoformat(),
        }
