"""Accounts and abuse through nginx, on the whole stack: a flood of book changes from one
account is paced, then refused, and only the burst's emails leave at once; a session
cookie copied before a log-out is refused after it; nothing dynamic may be cached."""

from __future__ import annotations

import requests

from bookshelf.config import settings_from_env
from devstack.bookshelf_client import BookshelfUser
from devstack.mailhog import MailHogClient
from devstack.process import wait_until
from tests.e2e.support import StackUrls, record_figure

BOOK = {"title": "Inundación", "author": "Autora Insistente"}
# The limits the stack runs with: the app's defaults (docs/architecture.md, "Limits").
DEFAULTS = settings_from_env({})
BURST = DEFAULTS["EMAIL_BURST"]
DEFERRED = int(DEFAULTS["EMAIL_MAX_DELAY_SECONDS"] * DEFAULTS["EMAIL_PER_HOUR"] / 3600)


def test_a_flood_of_changes_is_paced_then_refused(
    user: BookshelfUser, mailhog: MailHogClient
) -> None:
    api = user.api(user.api_token())
    statuses: list[int] = []
    refused: requests.Response | None = None
    book_id = None
    # Adds and deletes, as an attacker mailing someone would; each one is an email.
    for n in range(BURST + DEFERRED + 10):
        answer = api.delete_book(book_id) if book_id else api.add_book(**BOOK)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            refused = answer
            break
        book_id = None if book_id else answer.json()["id"]
        assert answer.status_code in (200, 201), (n, answer.status_code, answer.text)
    accepted = len(statuses) - 1
    record_figure("flood_accepted_before_429", accepted)

    assert refused is not None, f"no 429 after {len(statuses)} changes"
    body = refused.json()
    assert set(body) == {"error", "fields"} and "No se ha cambiado nada" in body["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # The burst goes at once, the next ones wait their turn, then changes are refused.
    assert BURST + DEFERRED - 1 <= accepted <= BURST + DEFERRED + 1, accepted

    emails = mailhog.wait_for(user.account.email, BURST, timeout=60)
    held = [
        item
        for item in api.http.get(f"{api.base_url}/api/v1/emails?per_page=100", timeout=10).json()[
            "items"
        ]
        if item["hold_reason"] == "rate_limited"
    ]
    assert len(held) == accepted - BURST
    # Once the relay has swept past them, still only the burst has left.
    assert not wait_until(lambda: len(mailhog.messages_to(user.account.email)) > BURST, timeout=5)
    assert len(emails) == BURST


def test_a_cookie_copied_before_logout_is_refused_after_it(stack: StackUrls) -> None:
    owner = BookshelfUser(stack.base_url)
    owner.register()
    thief = requests.Session()
    thief.cookies.update(owner.http.cookies)
    assert thief.get(f"{stack.base_url}/api/v1/books", timeout=10).status_code == 200
    owner.logout()
    assert thief.get(f"{stack.base_url}/api/v1/books", timeout=10).status_code == 401
    library = thief.get(f"{stack.base_url}/", timeout=10)
    assert "/auth/login" in library.url


def test_pages_and_api_answers_are_not_cached(user: BookshelfUser, stack: StackUrls) -> None:
    for path in ("/", "/auth/account", "/notifications/", "/api/v1/books"):
        assert user.get(path).headers["Cache-Control"] == "no-store", path
    static = requests.get(f"{stack.base_url}/static/style.css", timeout=10)
    assert "no-store" not in static.headers.get("Cache-Control", "")
