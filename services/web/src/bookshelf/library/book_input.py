"""The rules for a book's fields, shared by the HTML form and the JSON API.

`validate_book` takes raw values (form strings or decoded JSON) and returns either
clean values or one message per invalid field; nothing is stored on failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from bookshelf.library import isbn
from bookshelf.library.models import AUTHOR_MAX, NOTES_MAX, TITLE_MAX
from bookshelf.text_rules import check_line, has_control_chars

FIELDS = ("title", "author", "isbn", "year", "notes")
YEAR_MIN = 1
_INTEGER = re.compile(r"^[+-]?[0-9]{1,9}$")
_BLANK = re.compile(r"[ \t]*")
# Notes may span lines; every other control character (NUL included) is refused.
NOTES_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


@dataclass(frozen=True)
class BookInput:
    title: str
    author: str
    isbn: str | None
    year: int | None
    notes: str | None


def year_max() -> int:
    """The latest year a book may have; openapi.yaml's BookInput.year `maximum` is this,
    set when the document is served (bookshelf.api.openapi_document)."""
    return datetime.now(UTC).year + 1


def check_isbn(value: Any) -> tuple[str | None, str | None]:
    """Blank (spaces and tabs only) or None: no ISBN. Otherwise an ISBN-10 or ISBN-13 as
    isbn.parse reads it; every string it accepts matches isbn.INPUT_PATTERN, which is
    openapi.yaml's BookInput.isbn `pattern` (the checksum is beyond a pattern)."""
    if value is None or (isinstance(value, str) and _BLANK.fullmatch(value)):
        return None, None
    if not isinstance(value, str):
        return None, _("Must be text.")
    parsed = isbn.parse(value)
    if parsed is None:
        return None, _("Not a valid ISBN-10 or ISBN-13 (check the digits).")
    return parsed, None


def check_year(value: Any) -> tuple[int | None, str | None]:
    """A JSON year, as openapi.yaml's BookInput.year says: null, or an integer from
    YEAR_MIN to year_max(). JSON has a single number type and JSON Schema counts 147.0
    as the integer 147, so do we; 147.5, "1999" and true are refused."""
    if value is None:
        return None, None
    if isinstance(value, float) and value.is_integer():  # inf and NaN are not
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None, _("Must be a whole number.")
    if not YEAR_MIN <= value <= year_max():
        return None, _("Must be between %(low)d and %(high)d.", low=YEAR_MIN, high=year_max())
    return value, None


def check_year_text(value: Any) -> tuple[int | None, str | None]:
    """The form's year box: blank for none, else ASCII digits read as check_year reads
    a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return check_year(int(value.strip()))
    return None, _("Must be a whole number.")


def check_notes(value: Any) -> tuple[str | None, str | None]:
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, _("Must be text.")
    if has_control_chars(value, NOTES_ALLOWED_CONTROLS):
        return None, _("Must not contain control characters.")
    if len(value) > NOTES_MAX:
        return None, _(
            "Must be at most %(max)d characters (this one has %(count)d).",
            max=NOTES_MAX,
            count=len(value),
        )
    return value.strip() or None, None


def validate_book(
    data: Mapping[str, Any], *, from_form: bool = False
) -> tuple[BookInput | None, dict[str, str]]:
    """`data` is decoded JSON, typed as openapi.yaml's BookInput says, or with
    `from_form` the HTML form's strings (where the year is text)."""
    title, title_error = check_line(data.get("title"), TITLE_MAX)
    author, author_error = check_line(data.get("author"), AUTHOR_MAX)
    isbn_value, isbn_error = check_isbn(data.get("isbn"))
    year, year_error = (check_year_text if from_form else check_year)(data.get("year"))
    notes, notes_error = check_notes(data.get("notes"))
    found = {
        "title": title_error,
        "author": author_error,
        "isbn": isbn_error,
        "year": year_error,
        "notes": notes_error,
    }
    errors = {name: error for name, error in found.items() if error}
    if errors or title is None or author is None:
        return None, errors
    return BookInput(title, author, isbn_value, year, notes), {}
