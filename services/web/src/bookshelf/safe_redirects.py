"""The open-redirect guard for every `next` a form or a link carries."""

from __future__ import annotations

from urllib.parse import urlsplit


def _plain(target: str) -> bool:
    """Only visible characters: no control character (CR/LF would split the Location
    header, a tab is dropped by browsers and turns `/<TAB>/host` into `//host`), no
    space, format, separator or unassigned code point. url_for and the browser send
    those percent-encoded, so a real local path never carries one raw."""
    return all(ch.isprintable() and ch != " " for ch in target)


def safe_next(target: str | None, fallback: str) -> str:
    """`target` if it is a plain local path; otherwise `fallback`: never another host."""
    if not target or not _plain(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target:
        return fallback
    return target
