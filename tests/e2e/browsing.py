"""Debian's chromium under Playwright (never `playwright install`), and the checks the
browser scenarios share."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.e2e.browser import SCREENSHOTS


def page_overflow(page: Page) -> int:
    """How many pixels the page is wider than the viewport (0: no sideways scroll)."""
    overflow: int = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )
    return max(0, overflow)


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
