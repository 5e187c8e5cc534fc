"""Reading the two CSV formats an import takes, and the files refused whole."""

import pytest
from flask import Flask

from bookshelf.transfer.csv_formats import MAX_ROWS, ImportFileError, read_csv

GOODREADS_HEADER = (
    "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,"
    "Average Rating,Publisher,Binding,Number of Pages,Year Published,"
    "Original Publication Year,Date Read,Date Added,Bookshelves,"
    "Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,"
    "Read Count,Owned Copies"
)


def goodreads_line(
    title: str, isbn: str, isbn13: str, year: str, original: str, review: str = ""
) -> str:
    return (
        f'1,"{title}",Frank Herbert,"Herbert, Frank",,="{isbn}",="{isbn13}",5,4.27,Ace,'
        f'Paperback,604,{year},{original},,2020/01/02,,,read,"{review}",,"private",1,0'
    )


@pytest.fixture(autouse=True)
def _request(app: Flask):  # type: ignore[no-untyped-def]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def test_our_export_format_reads_each_column() -> None:
    data = (
        b"title,author,isbn,year,notes,created_at\r\n"
        b'Dune,Frank Herbert,9780441172719,1965,"Spice\nmust flow",2026-01-01T00:00:00+00:00\r\n'
        b"'=cmd,Someone,,,,\r\n"
    )
    parsed = read_csv(data)
    assert parsed.file_format == "bookshelf"
    first, second = parsed.rows
    assert first.row == 2
    assert first.fields == {
        "title": "Dune",
        "author": "Frank Herbert",
        "isbn": "9780441172719",
        "year": "1965",
        "notes": "Spice\nmust flow",
    }
    assert second.row == 3 and second.fields["title"] == "=cmd"  # the formula guard undone


def test_goodreads_isbns_years_and_notes() -> None:
    lines = [
        GOODREADS_HEADER,
        goodreads_line("Dune", "0441172717", "9780441172719", "1990", "1965", "Great<br/>book"),
        goodreads_line("No ISBN13", "0441172717", "", "", "1965"),
        goodreads_line("No ISBN", "", "", "", ""),
    ]
    parsed = read_csv(("\ufeff" + "\n".join(lines)).encode())
    assert parsed.file_format == "goodreads"
    dune, no13, none = (row.fields for row in parsed.rows)
    assert dune["isbn"] == "9780441172719" and dune["year"] == "1990"
    assert dune["notes"] == "Great\nbook\n\nprivate"
    assert no13["isbn"] == "0441172717" and no13["year"] == "1965"
    assert none["isbn"] == "" and none["year"] == ""


def test_blank_lines_are_skipped_and_rows_keep_their_number() -> None:
    parsed = read_csv(b"title,author\nA,B\n,\nC,D\n")
    assert [row.row for row in parsed.rows] == [2, 4]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xff\xfe\x00t", "not UTF-8"),
        (b"name,surname\nA,B\n", "must name the columns"),
        (b"title,author\n", "no books"),
        (b"title,author\n\n\n", "no books"),
        (b"", "must name the columns"),
        (b"title,author\nA\x00,B\n", "not a CSV"),
    ],
)
def test_files_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        read_csv(data)


def test_more_rows_than_the_limit_is_refused() -> None:
    data = "title,author\n" + "A,B\n" * (MAX_ROWS + 1)
    with pytest.raises(ImportFileError, match="more than"):
        read_csv(data.encode())
    assert len(read_csv(("title,author\n" + "A,B\n" * MAX_ROWS).encode()).rows) == MAX_ROWS
