"""The CSV files an import reads: our own export and Goodreads' "Export Library".

`read_csv` returns the rows as the book rules' raw input (strings, as a form sends
them), each with its row number as a spreadsheet shows it (the header is row 1), or
raises ImportFileError: a file that cannot be read at all is refused whole.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Final

from flask_babel import gettext as _

MAX_ROWS: Final = 10_000
BOOKSHELF_COLUMNS = ("title", "author", "isbn", "year", "notes")
GOODREADS_REQUIRED = ("Title", "Author")
# Goodreads writes ISBNs as ="0441172717" so that spreadsheets keep the leading zero.
_EXCEL_TEXT = re.compile(r'^="(.*)"$')
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_FORMULA_GUARD = ("'=", "'+", "'-", "'@", "'\t", "'\r")


class ImportFileError(ValueError):
    """The whole file is refused; nothing of it is imported."""


@dataclass(frozen=True)
class RawRow:
    row: int  # as a spreadsheet numbers it: the header is 1
    fields: dict[str, str]  # title, author, isbn, year, notes: raw strings


@dataclass(frozen=True)
class ParsedFile:
    file_format: str  # 'bookshelf' | 'goodreads'
    rows: list[RawRow]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_("The file is not UTF-8 text. Save it as CSV (UTF-8).")) from None


def _excel_text(value: str) -> str:
    match = _EXCEL_TEXT.match(value.strip())
    return match.group(1) if match else value


def _unguard(value: str) -> str:
    """Undo export._cell's apostrophe before a formula character."""
    return value[1:] if value.startswith(_FORMULA_GUARD) else value


def _bookshelf_row(record: dict[str, str]) -> dict[str, str]:
    return {name: _unguard(record.get(name) or "") for name in BOOKSHELF_COLUMNS}


def _goodreads_row(record: dict[str, str]) -> dict[str, str]:
    isbn = _excel_text(record.get("ISBN13") or "") or _excel_text(record.get("ISBN") or "")
    year = (record.get("Year Published") or "").strip() or (
        record.get("Original Publication Year") or ""
    ).strip()
    notes = [
        _HTML_BREAK.sub("\n", text).strip()
        for text in (record.get("My Review") or "", record.get("Private Notes") or "")
    ]
    return {
        "title": record.get("Title") or "",
        "author": record.get("Author") or "",
        "isbn": isbn,
        "year": year,
        "notes": "\n\n".join(text for text in notes if text),
    }


def read_csv(data: bytes) -> ParsedFile:
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_("The file is not a CSV file."))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error:
        raise ImportFileError(_("The file is not a CSV file.")) from None
    reader.fieldnames = header
    if all(column in header for column in GOODREADS_REQUIRED):
        file_format, convert = "goodreads", _goodreads_row
    elif "title" in header and "author" in header:
        file_format, convert = "bookshelf", _bookshelf_row
    else:
        raise ImportFileError(
            _(
                "The first line must name the columns: title and author (our export) "
                "or Title and Author (Goodreads' export)."
            )
        )
    rows: list[RawRow] = []
    try:
        for number, record in enumerate(reader, start=2):
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(
                    _("The file has more than %(max)d books: split it.", max=MAX_ROWS)
                )
            values = {key: value for key, value in record.items() if isinstance(key, str)}
            if not any(
                (value or "").strip() for value in values.values() if isinstance(value, str)
            ):
                continue  # a blank line
            rows.append(RawRow(number, convert(values)))
    except csv.Error as error:
        raise ImportFileError(
            _("The file is not valid CSV near line %(line)d.", line=reader.line_num)
        ) from error
    if not rows:
        raise ImportFileError(_("The file has no books in it."))
    return ParsedFile(file_format, rows)
