"""ISBN-10 and ISBN-13: normalisation and checksum. Pure functions."""

from __future__ import annotations

import re

# ASCII only: \d would also accept other scripts' digits, which int() then reads.
_SEPARATORS = re.compile(r"[ \t-]+")
_ISBN10 = re.compile(r"^[0-9]{9}[0-9X]$")
_ISBN13 = re.compile(r"^[0-9]{13}$")
# The shape of what `parse` accepts, separators included, for openapi.yaml (whose
# BookInput.isbn `pattern` must be this string; a test holds them together): 10
# characters (a final X or x allowed) or 13 digits, with spaces, tabs and hyphens
# anywhere; or spaces and tabs only, which the rules read as no ISBN. Written for both
# ECMA-262 and Python regexes: explicit classes, no \d or \s.
INPUT_PATTERN = r"^(?:[ \t]*|[ \t-]*(?:[0-9][ \t-]*){9}[0-9Xx][ \t-]*|[ \t-]*(?:[0-9][ \t-]*){13})$"


def normalize(raw: str) -> str:
    """Drop hyphens and spaces, upper-case a final x: '0-306-40615-2' -> '0306406152'."""
    return _SEPARATORS.sub("", raw).upper()


def isbn10_ok(digits: str) -> bool:
    if not _ISBN10.fullmatch(digits):
        return False
    values = [10 if ch == "X" else int(ch) for ch in digits]
    return sum((10 - i) * v for i, v in enumerate(values)) % 11 == 0


def isbn13_ok(digits: str) -> bool:
    if not _ISBN13.fullmatch(digits):
        return False
    return sum(int(ch) * (1 if i % 2 == 0 else 3) for i, ch in enumerate(digits)) % 10 == 0


def parse(raw: str) -> str | None:
    """The normalised ISBN, or None when it is neither a valid ISBN-10 nor ISBN-13."""
    digits = normalize(raw)
    return digits if isbn10_ok(digits) or isbn13_ok(digits) else None
