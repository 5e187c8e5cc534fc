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
        ("\u00a0\u3000\u2003", "This field is required."),  # Unicode spaces strip away
        (7, "Must be text."),
        ("two\nlines", "Must not contain line breaks or control characters."),
        ("lone \ud800 surrogate", "Must not contain line breaks or control characters."),
        ("x" * 11, "Must be at most 10 characters (this one has 11)."),
    ],
)
def test_what_a_line_refuses(value: Any, message: str) -> None:
    assert check_line(value, 10) == (None, message)


INVISIBLE = "Must contain at least one visible character."
BIDI = "Must not contain invisible characters that change the text direction."


@pytest.mark.parametrize(
    "value",
    [
        "\u200b",  # zero-width space (Cf)
        "\u200b\u200c\u200d",  # zero-width space, non-joiner, joiner
        "\u2060",  # word joiner
        "\ufeff",  # byte order mark
        "\u180e\u2061\u00ad",  # Mongolian vowel separator, function application, soft hyphen
        "\u0301\u0308",  # combining marks with no base letter
        "\ufe0f",  # a variation selector alone
        "\u3164",  # Hangul filler
        "\u2800\u2800",  # blank Braille pattern
        "\U000e0041\U000e0042",  # tag characters
    ],
)
def test_a_line_with_nothing_visible_is_refused(value: str) -> None:
    assert check_line(value, 10) == (None, INVISIBLE)


@pytest.mark.parametrize(
    "control", list("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
def test_bidi_controls_are_refused_wherever_they_are(control: str) -> None:
    assert check_line(f"Dune{control}", 20) == (None, BIDI)
    assert check_line(f"{control}exe.FDP", 20) == (None, BIDI)
    assert check_line(control, 20) == (None, BIDI)


@pytest.mark.parametrize(
    "value",
    [
        "Du\u200bne",  # invisible characters beside visible ones are kept as typed
        "\ufeffDune",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # ZWNJ is part of Persian spelling
        "👩\u200d💻",  # ZWJ joins an emoji sequence
        "e\u0301",  # e + combining acute
        "\u0915\u093f",  # Devanagari letter + spacing vowel sign (Mc)
        "ـ",  # Arabic tatweel (Lm)
        "\U0001fae8",  # an emoji newer than Python's Unicode database (Cn)
        "·",
        "1",
    ],
)
def test_any_visible_character_makes_a_line(value: str) -> None:
    assert check_line(value, 20) == (value, None)


def test_some_control_characters_may_be_allowed() -> None:
    assert has_control_chars("a\nb")
    assert not has_control_chars("a\nb", allowed={"\n"})
    assert has_control_chars("a\x00b", allowed={"\n"})
