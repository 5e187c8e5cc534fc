"""A real browser: register, add a book, delete it, then find both emails in MailHog's UI;
edit, search and sort a library; and every page at 1280 and 375 px wide, checked by
axe-core (0 violations) and never wider than the window.

The screenshots go to the
git-ignored bench/results/screenshots/; with E2E_UPDATE_SCREENSHOTS=1 they replace the
README's in docs/screenshots/ (each run differs in its addresses and times, so an
ordinary run must not dirty the tree).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.bookshelf_client import Account, BookshelfUser
from devstack.mailbox import Mailbox
from tests.e2e.browser import REPO, SCREENSHOTS, WIDTHS, checked_context, layout_problems
from tests.e2e.support import StackUrls

# Every page at every width, to look at after a run (git-ignored, never the README's).
PAGE_SHOTS = REPO / "bench" / "results" / "screenshots" / "pages"


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
    expect(page).to_have_url(f"{stack.base_url}/auth/inbox")

    # The verification email's link, opened and confirmed in the browser; that email is
    # then removed, so the mailbox below holds the book emails only.
    reader = BookshelfUser(stack.base_url, account)
    verification, path = reader.mailed_link(mailhog, "/auth/verify/")
    page.goto(f"{stack.base_url}{path}")
    submit(page)
    expect(page).to_have_url(f"{stack.base_url}/auth/login")
    mailhog.delete(verification)
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


# --- Edit, search and sort; every page checked at both widths ---------------------------

LONG_WORD = "Supercalifragilisticoespialidoso" * 4
LONG_URL = "https://example.com/" + "un-camino-muy-largo/" * 8
BOOKS = [
    {"title": "Cien años de soledad", "author": "Gabriel García Márquez", "year": "1967"},
    {"title": "El amor en los tiempos del cólera", "author": "Gabriel García Márquez",
     "year": "1985"},
    {"title": "Ángeles custodios", "author": "Anónimo", "year": "2001"},
    {"title": f"Notas {LONG_WORD}", "author": f"autora.{LONG_WORD}@example.com",
     "notes": f"Véase {LONG_URL}"},
    {"title": "ספר החול", "author": "חורחה לואיס בורחס", "year": "1975"},
]  # fmt: skip


@pytest.fixture
def reader(stack: StackUrls) -> BookshelfUser:
    """A user with a library worth searching: long words, an address, right-to-left."""
    user = BookshelfUser(stack.base_url)
    user.register()
    for book in BOOKS:
        user.add_book(**book)
    return user


@pytest.fixture
def checked_page(browser: Browser, stack: StackUrls, reader: BookshelfUser) -> Iterator[Page]:
    """A browser logged in as `reader`, with axe-core in every page."""
    context = checked_context(browser, stack.base_url, reader, WIDTHS[0])
    yield context.new_page()
    context.close()


def test_browser_edit_search_and_sort_keep_the_view_in_the_url(
    stack: StackUrls, checked_page: Page
) -> None:
    page = checked_page
    page.goto(f"{stack.base_url}/")
    page.fill("#q", "garcia marquez")
    page.select_option("#sort", "year")
    page.select_option("#order", "desc")
    page.locator("form.search button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"\?q=garcia\+marquez&sort=year&order=desc$"))
    expect(page.locator(".book-title")).to_have_text(
        ["El amor en los tiempos del cólera", "Cien años de soledad"]
    )
    page.select_option("#sort", "title")
    page.select_option("#order", "asc")
    page.fill("#q", "")
    page.locator("form.search button[type=submit]").click()
    expect(page.locator(".book-title").first).to_have_text("Ángeles custodios")  # not after Z

    page.locator(".book-title", has_text="Cien años").click()
    page.locator("main a[href$='/edit']").click()
    expect(page.locator("input[name=year]")).to_have_value("1967")
    page.fill("input[name=title]", "x" * 230)
    expect(page.locator(".char-count", has_text="230/200")).to_be_visible()
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#title-error")).to_contain_text("tiene 230")
    page.fill("input[name=title]", "Cien años de soledad")
    page.fill("input[name=year]", "1968")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/books/\d+$"))
    expect(page.locator(".facts")).to_contain_text("1968")
    expect(page.locator(".flash-success")).to_contain_text("Cien años de soledad")


def test_browser_every_page_passes_axe_and_fits_a_phone(
    stack: StackUrls, browser: Browser, checked_page: Page
) -> None:
    page = checked_page
    page.goto(f"{stack.base_url}/?q=notas")
    page.locator(".book-title").first.click()
    book_path = page.url.removeprefix(stack.base_url)
    paths = [
        "/",
        "/?q=garcia&sort=year&order=desc",
        "/?q=nada-de-nada",
        book_path,
        f"{book_path}/edit",
        f"{book_path}/delete",
        "/books/new",
        "/notifications/",
        "/auth/account",
        "/docs/api/",
    ]
    problems: dict[str, list[str]] = {}
    PAGE_SHOTS.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(f"{stack.base_url}{path}")
            if path == "/docs/api/":
                expect(page.locator(".opblock-summary-path").first).to_be_visible()
            found = layout_problems(page)
            if found:
                problems[f"{path} at {width} px"] = found
            shot = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "library"
            page.screenshot(path=str(PAGE_SHOTS / f"{shot}-{width}.png"), full_page=True)
            if path == "/" and width == 375:  # the README's phone-width view
                page.screenshot(path=str(SCREENSHOTS / "library-phone.png"))
    logged_out = checked_context(browser, stack.base_url, width=375)
    anonymous = logged_out.new_page()
    for path in ["/auth/login", "/auth/register"]:
        anonymous.goto(f"{stack.base_url}{path}")
        found = layout_problems(anonymous)
        if found:
            problems[f"{path} at 375 px"] = found
    logged_out.close()
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)
