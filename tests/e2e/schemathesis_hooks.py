"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in test_schemathesis.py: how to generate
the values of openapi.yaml's own formats, whose rules a JSON Schema pattern cannot state:
`isbn` (the checksum is right) and `text-line` (no control or bidi character, at least
one visible one: bookshelf.text_rules). Without them schemathesis would send values that
match the schema yet break those rules, and count their 422 as a valid request refused."""

from __future__ import annotations

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


schemathesis.openapi.format("isbn", _isbn13())
schemathesis.openapi.format("text-line", _text_line())
