"""Reads of a user's books. Every query filters by owner: (id, owner_id)."""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, select

from bookshelf.extensions import db
from bookshelf.library.listing import Listing
from bookshelf.library.models import Book, folded, search_text

PG_INT_MAX = 2**31 - 1
# The ICU collations of migration a4c6e8f0b2d4, by UI language: "Ángeles" sorts with
# the A's (the cluster's own collation may be C); Spanish puts "ñ" after "n".
COLLATIONS = {"es": "bookshelf_es", "en": "bookshelf_en"}


def owned_book(owner_id: int, book_id: int) -> Book | None:
    if not 0 < book_id <= PG_INT_MAX:
        return None
    return db.session.scalar(select(Book).where(Book.id == book_id, Book.owner_id == owner_id))


def _like_escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order_by(listing: Listing, locale: str) -> list[ColumnElement[Any]]:
    """The sort key first, in the listing's direction; then title, author and id, so
    that equal keys keep one order from page to page. A book with no year comes last
    either way."""
    collation = COLLATIONS.get(locale, COLLATIONS["en"])
    title, author = Book.title.collate(collation), Book.author.collate(collation)
    primary: Any = {
        "title": title,
        "author": author,
        "year": Book.year,
        "added": Book.created_at,
    }[listing.sort]
    first = primary.desc() if listing.order == "desc" else primary.asc()
    if listing.sort == "year":
        first = first.nulls_last()
    return [first, title, author, Book.id.asc()]


def book_query(owner_id: int, listing: Listing, locale: str) -> Select[tuple[Book]]:
    """The owner's books that match every word of the search, sorted as asked."""
    query = select(Book).where(Book.owner_id == owner_id)
    for word in listing.words:
        query = query.where(search_text().like("%" + folded(_like_escaped(word)) + "%"))
    return query.order_by(*_order_by(listing, locale))


def book_page(
    owner_id: int, page: int, per_page: int, listing: Listing | None = None, locale: str = "es"
) -> Pagination:
    query = book_query(owner_id, listing or Listing(), locale)
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
