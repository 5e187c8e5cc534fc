"""safe_next: a `next` that is not a local path falls back (pure function)."""

import pytest

from bookshelf.safe_redirects import safe_next


@pytest.mark.parametrize(
    "target", ["/", "/notifications/", "/?page=2", "/books/7/delete", "/?q=%C3%B1", "/?q=ñ"]
)
def test_a_local_path_is_kept(target: str) -> None:
    assert safe_next(target, "/fallback") == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/books\r\nX",
        "/books\rSet-Cookie:x=1",
        "/\t/evil.example",
        "/\n/evil.example",
        "/books\x00",
        "/books\x7f",
        "/books\x85",
        "/books X",
        "/books\u00a0",
        "/books\u2028",
        "/books\u200b",
        "/books\u202e",
        "/books\ufeff",
        "/books\ud800",
    ],
)
def test_anything_else_falls_back(target: str | None) -> None:
    assert safe_next(target, "/fallback") == "/fallback"
