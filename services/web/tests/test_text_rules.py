"""check_line, the one-line rule names, titles and authors share (pure function)."""

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from bookshelf.text_rules import check_line, has_control_chars


@pytest.fixture(autouse=True)
def _english(app: Flask) -> Iterator[None]:
    """Messages are translated: a request context gives gettext a locale."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize(
    ("value", "clean"), [("Dune", "Dune"), ("  Dune  ", "Dune"), ("x" * 10, "x" * 10)]
)
def test_a_line_is_stripped(value: str, clean: str) -> None:
    assert check_line(value, 10) == (clean, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "This field is required."),
        ("   ", "This field is required."),
        (7, "Must be text."),
        ("two\nlines", "Must not contain line breaks or control characters."),
        ("lone \ud800 surrogate", "Must not contain line breaks or control characters."),
        ("x" * 11, "Must be at most 10 characters."),
    ],
)
def test_what_a_line_refuses(value: Any, message: str) -> None:
    assert check_line(value, 10) == (None, message)


def test_some_control_characters_may_be_allowed() -> None:
    assert has_control_chars("a\nb")
    assert not has_control_chars("a\nb", allowed={"\n"})
    assert has_control_chars("a\x00b", allowed={"\n"})
