"""Each import row against the book rules; duplicates within the file."""

import pytest
from flask import Flask

from bookshelf.transfer.csv_formats import RawRow
from bookshelf.transfer.import_rows import check_rows


def raw(row: int, **fields: str) -> RawRow:
    base = {"title": "Dune", "author": "Frank Herbert", "isbn": "", "year": "", "notes": ""}
    return RawRow(row, {**base, **fields})


@pytest.fixture(autouse=True)
def _request(app: Flask):  # type: ignore[no-untyped-def]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def test_valid_rows_are_normalised_like_the_form() -> None:
    checked = check_rows([raw(2, isbn="978-0-441-17271-9", year=" 1965 ", title="  Dune ")])
    assert checked.refused == []
    assert checked.valid == [
        {
            "row": 2,
            "title": "Dune",
            "author": "Frank Herbert",
            "isbn": "9780441172719",
            "year": 1965,
            "notes": None,
        }
    ]


def test_each_refused_row_says_which_fields_and_why() -> None:
    checked = check_rows(
        [raw(2, title="", isbn="123"), raw(3, year="MCMLXV"), raw(4, title="x" * 201)]
    )
    assert checked.valid == []
    reasons = {entry["row"]: entry["reasons"] for entry in checked.refused}
    assert any(reason.startswith("Title:") for reason in reasons[2])
    assert any(reason.startswith("ISBN:") for reason in reasons[2])
    assert reasons[3] == ["Year: Must be a whole number."]
    assert reasons[4][0].startswith("Title:")


def test_an_isbn_repeated_in_the_file_is_refused_with_the_first_row() -> None:
    checked = check_rows(
        [raw(2, isbn="9780441172719"), raw(3, isbn="978-0441172719"), raw(4, isbn="")]
    )
    assert [row["row"] for row in checked.valid] == [2, 4]
    [refused] = checked.refused
    assert refused["row"] == 3
    assert refused["reasons"] == ["ISBN 9780441172719 is already in row 2 of this file."]
