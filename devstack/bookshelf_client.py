"""A user of a running stack over HTTP, through nginx: forms for the HTML side, a token for
the API. The e2e and fault suites and the benchmarks drive the app with it."""

from __future__ import annotations

import html
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from devstack.html_forms import find_form
from devstack.mailbox import Email, Mailbox

TOKEN_PATTERN = re.compile(r"\bbks_[A-Za-z0-9_\-]{20,}")
# A link of an account email, as its text part prints it (on a line of its own).
ACCOUNT_LINK = re.compile(r"https?://\S+?(/auth/(?:verify|reset|account/email)/[A-Za-z0-9_.\-]+)")
BOOK_PAGE = re.compile(r"/books/(\d+)$")
# One row of the /notifications table: the book's title cell, then its state's CSS class.
EMAIL_ROW = re.compile(
    r'<tr id="event-[^"]+">\s*<td[^>]*>(?:<bdi>)?(?P<title>[^<]*)(?:</bdi>)?</td>'
    r'.*?class="state state-(?P<state>[a-z]+)".*?</tr>',
    re.DOTALL,
)


def unique_email(label: str = "reader") -> str:
    """An address no other user has: `<label>-<12 random hex>@example.com`."""
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    name: str
    email: str
    password: str

    @classmethod
    def new(cls, label: str = "reader") -> Account:
        return cls(f"Lectora {label}", unique_email(f"e2e-{label}"), "contraseña-larga-123")


class BookshelfUser:
    """One browser-like session: cookies, CSRF tokens read from each form."""

    def __init__(self, base_url: str, account: Account | None = None, language: str = "es") -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account or Account.new()
        self.http = requests.Session()
        # Registration stores the negotiated language as the user's email locale.
        self.http.headers["Accept-Language"] = language

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def get(self, path: str) -> requests.Response:
        page = self.http.get(self.url(path), timeout=10)
        page.raise_for_status()
        return page

    def submit(
        self, path: str, having: str, action_ends: str = "", **values: str
    ) -> requests.Response:
        """Load `path`, fill the form that has field `having`, post it like a browser."""
        page = self.get(path)
        form = find_form(page.text, page.url, having=having, action_ends=action_ends)
        return self.http.post(form.action, data=form.filled(**values), timeout=10)

    # --- accounts ---------------------------------------------------------
    def register(self, mailbox: Mailbox | None = None) -> requests.Response:
        """Sign up and log in. With `mailbox`, the address is verified first, through
        the link of the verification email (which is then deleted from the mailbox, so
        that the address's mail is the book emails only); without, it stays unverified
        and its book emails wait."""
        done = self.submit(
            "/auth/register",
            "password",
            name=self.account.name,
            email=self.account.email,
            password=self.account.password,
        )
        assert done.ok and done.url.endswith("/auth/inbox"), done.text[:2000]
        if mailbox is not None:
            self.follow_link(mailbox, "/auth/verify/", remove=True)
        return self.login()

    def follow_link(
        self, mailbox: Mailbox, prefix: str, *, remove: bool = False, **values: str
    ) -> requests.Response:
        """Open the newest link under `prefix` mailed to this account, and submit the
        page's form with `values`, as a person would."""
        email, path = self.mailed_link(mailbox, prefix)
        done = self.follow_link_at(path, **values)
        if remove:
            mailbox.delete(email)
        return done

    def follow_link_at(self, path: str, **values: str) -> requests.Response:
        """Open a mailed link's `path` and submit its page's form with `values`."""
        form_page = self.get(path)
        form = find_form(form_page.text, form_page.url, having="csrf_token", action_ends=path)
        done = self.http.post(form.action, data=form.filled(**values), timeout=10)
        assert done.ok, f"{done.status_code} {done.text[:500]}"
        return done

    def mailed_link(
        self, mailbox: Mailbox, prefix: str, to: str | None = None, timeout: float = 20.0
    ) -> tuple[Email, str]:
        """The newest email to `to` (this account's address) with a link under
        `prefix`, and that link's path; waits for it up to `timeout` seconds."""
        address = to or self.account.email
        deadline = time.monotonic() + timeout
        while True:
            for email in mailbox.messages_to(address):  # newest first
                found = ACCOUNT_LINK.search(email.part("text/plain"))
                if found and found.group(1).startswith(prefix):
                    return email, found.group(1)
            assert time.monotonic() < deadline, f"no {prefix} link mailed to {address}"
            time.sleep(0.05)

    def login(self) -> requests.Response:
        done = self.submit(
            "/auth/login", "password", email=self.account.email, password=self.account.password
        )
        assert done.ok and "/auth/login" not in done.url, done.text[:2000]
        return done

    def logout(self) -> None:
        self.submit("/auth/account", "csrf_token", action_ends="/logout").raise_for_status()
        library = self.http.get(self.url("/"), timeout=10)
        assert "/auth/login" in library.url, "still logged in after logging out"

    def api_token(self) -> str:
        """Generate a token on the account page and read it off the page, as a person would."""
        shown = self.submit("/auth/account", "csrf_token", action_ends="/account/token")
        shown.raise_for_status()
        found = TOKEN_PATTERN.search(shown.text)
        assert found, "the account page did not show a new API token"
        return found.group(0)

    # --- books (HTML) ---------------------------------------------------
    def add_book_form(self, **fields: str) -> requests.Response:
        """Post the add-book form. Accepted: a redirect to the book's page (followed)."""
        return self.submit("/books/new", "title", **fields)

    def add_book(self, **fields: str) -> int:
        """Add a book that must be accepted; return its id."""
        done = self.add_book_form(**fields)
        found = BOOK_PAGE.search(done.url)
        assert done.ok and done.history and found, f"not added: {done.status_code} {done.url}"
        return int(found.group(1))

    def delete_book(self, book_id: int) -> requests.Response:
        """Confirm on the delete page (no JS needed), like the browser does."""
        path = f"/books/{book_id}/delete"
        # action_ends: the header's logout form also has a csrf_token, and comes first.
        done = self.submit(path, "csrf_token", action_ends=path)
        deleted = done.ok and done.history and done.url == self.url("/")
        assert deleted, f"not deleted: {done.status_code} {done.url}"
        return done

    # --- confirmation emails -------------------------------------------
    def email_rows(self, title: str) -> list[re.Match[str]]:
        """The /notifications rows about the book titled `title`: each its `state`, and
        the whole row as group 0."""
        page = self.get("/notifications/").text
        return [row for row in EMAIL_ROW.finditer(page) if html.unescape(row["title"]) == title]

    def email_states(self, title: str) -> list[str]:
        """The states /notifications shows for the emails about the book titled `title`."""
        return [row["state"] for row in self.email_rows(title)]

    # --- books (JSON API) -------------------------------------------------
    def api(self, token: str) -> BookshelfApi:
        return BookshelfApi(self.base_url, token)


class BookshelfApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def add_book(self, **fields: Any) -> requests.Response:
        return self.http.post(f"{self.base_url}/api/v1/books", json=fields, timeout=10)

    def delete_book(self, book_id: int) -> requests.Response:
        return self.http.delete(f"{self.base_url}/api/v1/books/{book_id}", timeout=10)

    def list_books(self) -> requests.Response:
        return self.http.get(f"{self.base_url}/api/v1/books", timeout=10)
