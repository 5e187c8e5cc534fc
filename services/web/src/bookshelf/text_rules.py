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

# Unicode's Bidi_Control characters (PropList.txt): embeddings and overrides
# (U+202A-U+202E), isolates (U+2066-U+2069), the LRM/RLM marks (U+200E, U+200F) and the
# Arabic letter mark (U+061C). A title, an author or a name is shown inside our own
# sentences (pages, the email's Subject, greeting and To), where one of them reorders
# what follows: "Libro eliminado: \u202eexe.FDP" reads "PDF.exe". Refused, not
# stripped: a value is stored as typed or not at all.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

# What draws nothing on its own: separators (Zs, Zl, Zp), format characters (Cf: U+200B
# zero-width space, U+2060 word joiner, U+FEFF, the bidi controls...), controls,
# surrogates, and combining marks with no base (Mn, Me: accents, variation selectors).
_INVISIBLE_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Mn", "Me"}
# Letters and symbols whose glyph is blank by design: the Hangul fillers (Lo, but
# Default_Ignorable_Code_Point) and the blank Braille pattern (So), favourites for
# "empty" names. Unassigned code points (Cn) count as visible: Python's Unicode
# database can be older than the emoji a user types.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def has_control_chars(value: str, allowed: set[str] | None = None) -> bool:
    allowed = allowed or set()
    return any(
        unicodedata.category(ch) in _REFUSED_CATEGORIES and ch not in allowed for ch in value
    )


def has_bidi_controls(value: str) -> bool:
    return any(ch in BIDI_CONTROLS for ch in value)


def is_visible(ch: str) -> bool:
    return unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and ch not in _BLANK_GLYPHS


def has_visible_char(value: str) -> bool:
    return any(is_visible(ch) for ch in value)


def check_line(value: Any, max_len: int) -> tuple[str | None, str | None]:
    """A required single line of text (a book's title or author, a user's name)."""
    if value is None or value == "":
        return None, _("This field is required.")
    if not isinstance(value, str):
        return None, _("Must be text.")
    if has_control_chars(value):
        return None, _("Must not contain line breaks or control characters.")
    if has_bidi_controls(value):
        return None, _("Must not contain invisible characters that change the text direction.")
    clean = value.strip()
    if not clean:
        return None, _("This field is required.")
    if not has_visible_char(clean):
        return None, _("Must contain at least one visible character.")
    if len(clean) > max_len:
        return None, _(
            "Must be at most %(max)d characters (this one has %(count)d).",
            max=max_len,
            count=len(clean),
        )
    return clean, None
