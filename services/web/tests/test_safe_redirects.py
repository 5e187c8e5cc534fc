"""safe_next: a `next` that is not a local path falls back (pure function)."""

import pytest

from bookshelf.safe_redirects import safe_next


@pytest.mark.parametrize("target", ["/", "/notifications/", "/?page=2", "/books/7/delete"])
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
    ],
)
def test_anything_else_falls_back(target: str | None) -> None:
    assert safe_next(target, "/fallback") == "/fallback"
