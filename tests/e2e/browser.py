"""Typed helpers of the e2e suite's browser checks (the `browser` fixture is in
conftest.py): Debian's chromium (never `playwright install`), a context logged in
with a BookshelfUser's session cookie, and axe-core's verdict on a page."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

from devstack.bookshelf_client import BookshelfUser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDTHS = (1280, 375)
# Git-ignored, unless E2E_UPDATE_SCREENSHOTS=1 makes them the README's (each run differs
# in its addresses and times, so an ordinary run must not dirty the tree).
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("E2E_UPDATE_SCREENSHOTS") == "1"
    else REPO / "bench" / "results" / "screenshots"
)
# Fetched by scripts/bootstrap.sh (npm, pinned); injected before each page's own scripts,
# which the page's CSP (script-src 'self') would not allow from a <script> tag.
AXE = REPO / ".tools" / "axe-core" / "axe.min.js"


def checked_context(
    browser: Browser, base_url: str, user: BookshelfUser | None = None, width: int = 1280
) -> BrowserContext:
    """A Spanish browser `width` px wide with axe-core in every page, logged in as
    `user` (its session cookie) when given."""
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run `make bootstrap` (npm fetches it)")
    context = browser.new_context(
        locale="es-ES", viewport={"width": width, "height": 800}, device_scale_factor=1
    )
    context.set_default_timeout(15_000)
    context.add_init_script(path=str(AXE))
    if user is not None:
        cookies = [
            {"name": c.name, "value": c.value or "", "url": base_url} for c in user.http.cookies
        ]
        context.add_cookies(cookies)  # type: ignore[arg-type]
    return context


def axe_violations(page: Page) -> list[str]:
    """axe-core's verdict on the page as it is: one line per violated rule."""
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
    ]


def layout_problems(page: Page) -> list[str]:
    """axe's violations, and the page's width when it is wider than the window."""
    found = axe_violations(page)
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    window: int = page.evaluate("() => window.innerWidth")
    if width > window:
        found.append(f"the page is {width} px wide in a {window} px window")
    return found
