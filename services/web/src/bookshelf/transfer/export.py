"""The library as a file: CSV (which import.csv_formats reads back) or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.library.models import Book

# Our CSV's columns, in order; csv_formats.BOOKSHELF_COLUMNS reads the same names.
CSV_COLUMNS = ("title", "author", "isbn", "year", "notes", "created_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def owned_books(owner_id: int) -> Iterator[Book]:
    query = (
        select(Book)
        .where(Book.owner_id == owner_id)
        .order_by(func.lower(Book.title), func.lower(Book.author), Book.id)
        .execution_options(yield_per=500)
    )
    yield from db.session.scalars(query)


def _cell(value: object) -> str:
    """A spreadsheet runs a cell that starts with = + - @ as a formula (CSV injection):
    such text gets a leading apostrophe, which the importer removes again."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(owner_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for book in owned_books(owner_id):
        writer.writerow(
            [
                _cell(book.title),
                _cell(book.author),
                book.isbn or "",
                book.year if book.year is not None else "",
                _cell(book.notes),
                book.created_at.astimezone(UTC).isoformat(),
            ]
        )
    return out.getvalue()


def json_text(owner_id: int) -> str:
    books = [book.to_dict() for book in owned_books(owner_id)]
    exported_at = datetime.now(UTC).isoformat()
    return json.dumps({"exported_at": exported_at, "books": books}, ensure_ascii=False, indent=1)


def filename(extension: str) -> str:
    return f"bookshelf-{datetime.now(UTC).date().isoformat()}.{extension}"
