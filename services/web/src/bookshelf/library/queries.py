"""Reads of a user's books. Every query filters by owner: (id, owner_id)."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.library.models import Book

PG_INT_MAX = 2**31 - 1


def owned_book(owner_id: int, book_id: int) -> Book | None:
    if not 0 < book_id <= PG_INT_MAX:
        return None
    return db.session.scalar(select(Book).where(Book.id == book_id, Book.owner_id == owner_id))


def book_page(owner_id: int, page: int, per_page: int) -> Pagination:
    """The owner's books by title (case-insensitive), then author, then id."""
    query = (
        select(Book)
        .where(Book.owner_id == owner_id)
        .order_by(func.lower(Book.title), func.lower(Book.author), Book.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
