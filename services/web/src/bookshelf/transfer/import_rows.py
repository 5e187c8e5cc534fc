"""Each row of an import checked by the book rules (library/book_input.py), and the
rows the file repeats: the valid rows to insert and, for every other one, why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from bookshelf.library.book_input import validate_book
from bookshelf.transfer.csv_formats import RawRow


def _field_labels() -> dict[str, str]:
    return {
        "title": _("Title"),
        "author": _("Author"),
        "isbn": _("ISBN"),
        "year": _("Year"),
        "notes": _("Notes"),
    }


@dataclass
class CheckedRows:
    # {row, title, author, isbn, year, notes}: plain JSON, as the job stores them.
    valid: list[dict[str, Any]] = field(default_factory=list)
    # {row, title, reasons: [..]}: refused here; the worker adds library duplicates.
    refused: list[dict[str, Any]] = field(default_factory=list)


def check_rows(rows: list[RawRow]) -> CheckedRows:
    checked = CheckedRows()
    labels = _field_labels()
    first_row_of: dict[str, int] = {}
    for raw in rows:
        data, errors = validate_book(raw.fields, from_form=True)
        if data is None:
            reasons = [f"{labels[name]}: {message}" for name, message in errors.items()]
            checked.refused.append(
                {"row": raw.row, "title": raw.fields.get("title", "")[:200], "reasons": reasons}
            )
            continue
        if data.isbn is not None and data.isbn in first_row_of:
            reason = _(
                "ISBN %(isbn)s is already in row %(row)d of this file.",
                isbn=data.isbn,
                row=first_row_of[data.isbn],
            )
            checked.refused.append({"row": raw.row, "title": data.title, "reasons": [reason]})
            continue
        if data.isbn is not None:
            first_row_of[data.isbn] = raw.row
        checked.valid.append(
            {
                "row": raw.row,
                "title": data.title,
                "author": data.author,
                "isbn": data.isbn,
                "year": data.year,
                "notes": data.notes,
            }
        )
    return checked
