"""A user's book: typed SQLAlchemy 2 model; every read filters by owner (queries.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookshelf.extensions import db, utcnow

if TYPE_CHECKING:
    from bookshelf.accounts.models import User

TITLE_MAX = 200
AUTHOR_MAX = 200
NOTES_MAX = 2000


def folded(value: ColumnElement[str] | str) -> ColumnElement[str]:
    """`value` lower-cased and without accents: bookshelf_fold, the database function
    of migration a4c6e8f0b2d4 (unaccent), so "García" and "garcia" compare equal."""
    return func.bookshelf_fold(value, type_=Text)


def search_text() -> ColumnElement[str]:
    """What the search box looks in, folded: title, author and ISBN in one string.
    Written as Postgres prints the index back, so the migration check sees no change."""
    return folded(literal_column("(((title || ' ') || author) || ' ') || coalesce(isbn, '')"))


class Book(db.Model):  # type: ignore[name-defined]
    __tablename__ = "books"
    __table_args__ = (
        Index("ix_books_owner_id_title", "owner_id", "title"),
        # A trigram index (pg_trgm) serves `search_text() LIKE '%word%'`.
        Index(
            "ix_books_search",
            search_text().label("search_text"),
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

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
