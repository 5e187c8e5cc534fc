"""A real browser: register, add a book, delete it, then find both emails in MailHog's UI.

Uses Debian's chromium (never `playwright install`). The screenshots go to the
git-ignored bench/results/screenshots/; with E2E_UPDATE_SCREENSHOTS=1 they replace the
README's in docs/screenshots/ (each run differs in its addresses and times, so an
ordinary run must not dirty the tree).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devstack.bookshelf_client import Account
from devstack.mailbox import Mailbox
from tests.e2e.support import StackUrls

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
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("E2E_UPDATE_SCREENSHOTS") == "1"
    else REPO / "bench" / "results" / "screenshots"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make bootstrap` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="es-ES", viewport={"width": 1200, "height": 480}, device_scale_factor=1
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def submit(page: Page) -> None:
    page.locator("main form button[type=submit]").click()


def test_browser_register_add_delete_then_both_emails_in_mailhog_ui(
    stack: StackUrls, page: Page, mailhog: Mailbox
) -> None:
    account = Account("Ana Lectora", Account.new("browser").email, "contraseña-larga-123")
    title, author = "Cien años de soledad", "Gabriel García Márquez"

    page.goto(f"{stack.base_url}/auth/register")
    page.fill("input[name=name]", account.name)
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    submit(page)
    expect(page).to_have_url(f"{stack.base_url}/")

    page.locator("main a[href$='/books/new']").first.click()
    page.fill("input[name=title]", title)
    page.fill("input[name=author]", author)
    page.fill("input[name=year]", "1967")
    submit(page)
    expect(page).to_have_url(re.compile(r"/books/\d+$"))
    book_url = page.url

    page.goto(f"{stack.base_url}/")
    expect(page.locator(".book-title")).to_have_text([title])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "library.png"))

    page.goto(book_url)
    page.locator("main a[href$='/delete']").click()
    submit(page)
    expect(page).to_have_url(f"{stack.base_url}/")
    expect(page.locator(".book-title")).to_have_count(0)

    mailhog.wait_for(account.email, 2)  # delivered; now find them as a person would
    if stack.mail_catcher != "mailhog" or stack.mail_ui_url is None:
        return  # what follows walks MailHog's own UI (and takes the README's screenshot)
    # MailHog sizes its preview pane to the window when the page loads.
    page.set_viewport_size({"width": 1200, "height": 760})
    page.goto(stack.mail_ui_url)
    page.fill("#search", account.email)
    page.press("#search", "Enter")
    rows = page.locator(".msglist-message")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(title)
    rows.last.click()  # newest first: the last row is the "added" email
    expect(page.locator(".preview .headers")).to_contain_text(title)
    email_body = page.frame_locator("#preview-html")
    expect(email_body.locator("body")).to_contain_text(author)
    page.screenshot(path=str(SCREENSHOTS / "mailhog.png"))
