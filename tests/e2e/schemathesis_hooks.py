"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in test_schemathesis.py: how to generate
the values of openapi.yaml's own formats, whose rules a JSON Schema pattern cannot state:
`isbn` (the checksum is right), `text-line` (no control or bidi character, at least one
visible one: bookshelf.text_rules), `text-block` (no control character but line breaks
and tabs: a book's notes), `time-zone` (a zone zoneinfo knows) and `books-csv` (an
import file: a header naming title and author, then rows; the multipart `binary` file
too). Without them schemathesis would send values that match the schema yet break those
rules, and count their 422 as a valid request refused."""

from __future__ import annotations

import csv
import io
from zoneinfo import available_timezones

import schemathesis
from hypothesis import strategies as st

from bookshelf import text_rules
from bookshelf.library import isbn


@st.composite
def _isbn13(draw: st.DrawFn) -> str:
    body = "978" + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    check = (10 - sum(int(ch) * (1 if i % 2 == 0 else 3) for i, ch in enumerate(body)) % 10) % 10
    digits = body + str(check)
    assert isbn.parse(digits) == digits
    hyphenated = draw(st.booleans())
    return (
        f"{digits[:3]}-{digits[3]}-{digits[4:7]}-{digits[7:12]}-{digits[12]}"
        if hyphenated
        else digits
    )


# Any characters but the refused ones (controls, surrogates, bidi controls)...
_LINE_CHARACTERS = st.characters(
    exclude_categories=("Cc", "Cs"), exclude_characters=text_rules.BIDI_CONTROLS
)


@st.composite
def _text_line(draw: st.DrawFn) -> str:
    """...around one visible character, 200 at most once trimmed."""
    visible = draw(_LINE_CHARACTERS.filter(text_rules.is_visible))
    before = draw(st.text(_LINE_CHARACTERS, max_size=40))
    after = draw(st.text(_LINE_CHARACTERS, max_size=40))
    return before + visible + after


# A book's notes: the line's characters, and line breaks and tabs.
_BLOCK_CHARACTERS = st.characters(exclude_categories=("Cc", "Cs"), include_characters="\n\r\t")

# Every zone the server accepts (accounts.preferences.check_timezone), at most 64 long.
_TIME_ZONES = sorted(name for name in available_timezones() if len(name) <= 64)


@st.composite
def _books_csv(draw: st.DrawFn) -> str:
    """Our export's header, then one to five books (each a row, valid or not: the job
    reports the invalid ones, the file as a whole is accepted)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("title", "author", "isbn", "year", "notes"))
    for _row in range(draw(st.integers(min_value=1, max_value=5))):
        title, author = draw(_text_line()), draw(_text_line())
        isbn_value = draw(st.one_of(st.just(""), _isbn13()))
        year = draw(st.one_of(st.just(""), st.integers(min_value=1, max_value=2025).map(str)))
        notes = draw(st.text(_BLOCK_CHARACTERS, max_size=60))
        writer.writerow((title, author, isbn_value, year, notes))
    return out.getvalue()


schemathesis.openapi.format("isbn", _isbn13())
schemathesis.openapi.format("text-line", _text_line())
schemathesis.openapi.format("text-block", st.text(_BLOCK_CHARACTERS, max_size=2000))
schemathesis.openapi.format("time-zone", st.sampled_from(_TIME_ZONES))
schemathesis.openapi.format("books-csv", _books_csv())
# The only `binary` of the document is the import's multipart `file`: the same CSV, as bytes.
schemathesis.openapi.format("binary", _books_csv().map(str.encode))
