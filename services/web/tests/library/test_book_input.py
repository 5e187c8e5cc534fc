"""Every book field rule, shared by the form and the API (pure function): decoded JSON
by default, the form's strings with `from_form=True`."""

from datetime import UTC, datetime
from typing import Any

import pytest

from bookshelf.library.book_input import validate_book

NEXT_YEAR = datetime.now(UTC).year + 1
VALID = {"title": "Dune", "author": "Frank Herbert", "isbn": None, "year": None, "notes": None}
FORM = {"title": "Dune", "author": "Frank Herbert", "isbn": "", "year": "", "notes": ""}


def with_(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


@pytest.mark.parametrize("field", ["title", "author"])
@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "x" * 201,
        "line\nbreak",
        "carriage\rreturn",
        "\nleading newline",
        "tab\there",
        "nul\x00byte",
        "escape\x1b[31m",
        "del\x7f",
        "c1\x85control",
        "\u200b",
        "\u200b\u2060\ufeff",
        "\u202eexe.FDP",
        "Dune\u2066",
        42,
        ["list"],
    ],
)
def test_title_and_author_rejections(field: str, value: Any) -> None:
    data, errors = validate_book(with_(**{field: value}))
    assert data is None
    assert set(errors) == {field}


@pytest.mark.parametrize("field", ["title", "author"])
def test_title_and_author_limits_and_trimming(field: str) -> None:
    data, errors = validate_book(with_(**{field: "  " + "é" * 200 + "  "}))
    assert errors == {}
    assert data is not None and getattr(data, field) == "é" * 200


@pytest.mark.parametrize(
    "value",
    ["0", "-5", str(NEXT_YEAR + 1), "abc", "19.5", "1e3", "\uff11\uff19\uff19\uff19", "1 965"],
)
def test_form_year_rejections(value: str) -> None:
    data, errors = validate_book({**FORM, "year": value}, from_form=True)
    assert data is None and set(errors) == {"year"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), (" 1965 ", 1965), ("+1965", 1965), (str(NEXT_YEAR), NEXT_YEAR), ("", None)],
)
def test_form_year_accepted(value: str, expected: int | None) -> None:
    data, errors = validate_book({**FORM, "year": value}, from_form=True)
    assert errors == {} and data is not None and data.year == expected


@pytest.mark.parametrize(
    "value",
    [
        "1965",  # a JSON string, however numeric: openapi.yaml says integer
        "",
        " ",
        19.5,
        True,
        False,
        0,
        -5,
        NEXT_YEAR + 1,
        float(NEXT_YEAR + 1),
        10**12,
        1e20,
        float("inf"),
        float("nan"),
        [1965],
        {"year": 1965},
    ],
)
def test_json_year_rejections(value: Any) -> None:
    data, errors = validate_book(with_(year=value))
    assert data is None and set(errors) == {"year"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), (1965, 1965), (1965.0, 1965), (NEXT_YEAR, NEXT_YEAR), (None, None)],
)
def test_json_year_accepted(value: Any, expected: int | None) -> None:
    """JSON has one number type: 1965.0 is the integer 1965, as JSON Schema counts it."""
    data, errors = validate_book(with_(year=value))
    assert errors == {} and data is not None and data.year == expected
    assert data.year is None or type(data.year) is int


@pytest.mark.parametrize(
    "value",
    [
        "123",
        "0306406153",
        "9780306406158",
        9780306406157,
        "isbn",
        "-",
        "\n",
        "\u00a0",
        "978-0-441-17271-9\n",
        "978\u00a00441172719",
        "978_0441172719",
        "\u0669780441172719",  # an Arabic-Indic digit
        "X306406152",
        "978044117271X",
    ],
)
def test_isbn_rejections(value: Any) -> None:
    data, errors = validate_book(with_(isbn=value))
    assert data is None and set(errors) == {"isbn"}


@pytest.mark.parametrize("value", [None, "", "  ", "\t "])
def test_no_isbn(value: str | None) -> None:
    data, errors = validate_book(with_(isbn=value))
    assert errors == {} and data is not None and data.isbn is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("978-0-441-17271-9", "9780441172719"),
        (" 978 0 441\t17271 9 ", "9780441172719"),
        ("0-8044-2957-x", "080442957X"),
    ],
)
def test_isbn_is_stored_normalized(value: str, stored: str) -> None:
    data, _errors = validate_book(with_(isbn=value))
    assert data is not None and data.isbn == stored


@pytest.mark.parametrize("value", ["n" * 2001, "nul\x00", "bell\x07", 5])
def test_notes_rejections(value: Any) -> None:
    data, errors = validate_book(with_(notes=value))
    assert data is None and set(errors) == {"notes"}


def test_notes_may_span_lines_up_to_the_limit() -> None:
    data, errors = validate_book(with_(notes="first\r\nsecond\tline"))
    assert errors == {} and data is not None and data.notes == "first\r\nsecond\tline"
    data, errors = validate_book(with_(notes="n" * 2000))
    assert errors == {}


def test_optional_fields_become_none() -> None:
    data, errors = validate_book({"title": "Dune", "author": "Frank Herbert"})
    assert errors == {}
    assert data is not None and (data.isbn, data.year, data.notes) == (None, None, None)


def test_the_forms_blank_fields_become_none() -> None:
    data, errors = validate_book(FORM, from_form=True)
    assert errors == {}
    assert data is not None and (data.isbn, data.year, data.notes) == (None, None, None)


def test_every_invalid_field_is_reported_at_once() -> None:
    _data, errors = validate_book(
        {"title": "", "author": "a\nb", "isbn": "1", "year": "0", "notes": "\x00"}
    )
    assert set(errors) == {"title", "author", "isbn", "year", "notes"}
