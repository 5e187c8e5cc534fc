"""ISBN-10 / ISBN-13 checksums and normalisation (pure functions)."""

import pytest

from bookshelf.library import isbn


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("0306406152", "0306406152"),
        ("0-306-40615-2", "0306406152"),
        ("0 306 40615 2", "0306406152"),
        ("080442957X", "080442957X"),
        ("0-8044-2957-x", "080442957X"),
        ("9780306406157", "9780306406157"),
        ("978-0-306-40615-7", "9780306406157"),
        ("978 0 441 17271 9", "9780441172719"),
        ("979-10-90636-07-1", "9791090636071"),
    ],
)
def test_valid_isbns_are_normalized(raw: str, normalized: str) -> None:
    assert isbn.parse(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "0306406153",  # ISBN-10 checksum off by one
        "9780306406158",  # ISBN-13 checksum off by one
        "X306406152",  # X only allowed as the last ISBN-10 character
        "978030640615X",  # no X in ISBN-13
        "030640615",  # too short
        "97803064061577",  # too long
        "0306406152 7",
        "abcdefghij",
        "",
        "\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665\u0662",  # Arabic-Indic digits
        "0_306_40615_2",
    ],
)
def test_invalid_isbns_are_rejected(raw: str) -> None:
    assert isbn.parse(raw) is None


def test_checksums_directly() -> None:
    assert isbn.isbn10_ok("080442957X")
    assert not isbn.isbn10_ok("0804429570")
    assert isbn.isbn13_ok("9780441172719")
    assert not isbn.isbn13_ok("9780441172718")
