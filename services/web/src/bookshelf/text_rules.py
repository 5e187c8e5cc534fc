"""The rules for text people type, shared by every feature's input (form or JSON).

Each `check_*` takes a raw value and returns `(clean value, None)` or `(None, message)`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _

# Cc: control characters (CR, LF, NUL, ...). Cs: lone surrogates, which JSON can carry
# ("\ud800") but UTF-8, and so Postgres, cannot store.
_REFUSED_CATEGORIES = {"Cc", "Cs"}


def has_control_chars(value: str, allowed: set[str] | None = None) -> bool:
    allowed = allowed or set()
    return any(
        unicodedata.category(ch) in _REFUSED_CATEGORIES and ch not in allowed for ch in value
    )


def check_line(value: Any, max_len: int) -> tuple[str | None, str | None]:
    """A required single line of text (a book's title or author, a user's name)."""
    if value is None or value == "":
        return None, _("This field is required.")
    if not isinstance(value, str):
        return None, _("Must be text.")
    if has_control_chars(value):
        return None, _("Must not contain line breaks or control characters.")
    clean = value.strip()
    if not clean:
        return None, _("This field is required.")
    if len(clean) > max_len:
        return None, _("Must be at most %(max)d characters.", max=max_len)
    return clean, None
