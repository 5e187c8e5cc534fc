"""Debian's chromium under Playwright (never `playwright install`), and the checks the
browser scenarios share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, REPO

WIDTHS = (1280, 375)
# Git-ignored, unless E2E_UPDATE_SCREENSHOTS=1 makes them the README's.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("E2E_UPDATE_SCREENSHOTS") == "1"
    else REPO / "bench" / "results" / "screenshots"
)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make bootstrap` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


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
