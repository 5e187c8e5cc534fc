"""The JSON API does the same flow with the Bearer token shown on the account page."""

from __future__ import annotations

import uuid

import requests

from devstack.bookshelf_client import BookshelfUser
from devstack.mailbox import Mailbox
from tests.e2e.support import StackUrls


def test_api_add_list_delete_with_bearer_token_sends_both_emails(
    user: BookshelfUser, mailhog: Mailbox
) -> None:
    api = user.api(user.api_token())
    title = f"Ficciones {uuid.uuid4().hex[:6]}"

    created = api.add_book(title=title, author="Jorge Luis Borges", isbn="978-0-306-40615-7")

    assert created.status_code == 201, created.text
    book = created.json()
    assert book["title"] == title and book["isbn"] == "9780306406157"
    assert book["notification"]["status"] in {"pending", "queued", "sending", "sent"}
    assert created.headers["Location"].endswith(f"/api/v1/books/{book['id']}")
    listed = api.list_books().json()
    assert [item["title"] for item in listed["items"]] == [title]
    (added,) = mailhog.wait_for(user.account.email, 1)
    assert title in added.subject
    assert "Jorge Luis Borges" in added.part("text/plain")

    deleted = api.delete_book(book["id"])

    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] == book["id"]
    assert api.list_books().json()["total"] == 0
    emails = mailhog.wait_for(user.account.email, 2)
    assert len(emails) == 2
    assert all(title in e.subject for e in emails)


def test_api_refuses_invalid_book_and_bad_token(
    stack: StackUrls, user: BookshelfUser, mailhog: Mailbox
) -> None:
    api = user.api(user.api_token())

    refused = api.add_book(title="Inyección\r\nBcc: x@example.com", author="", isbn="123")

    assert refused.status_code == 422
    assert set(refused.json()["fields"]) >= {"title", "author", "isbn"}
    anonymous = requests.post(
        f"{stack.base_url}/api/v1/books",
        json={"title": "x", "author": "y"},
        headers={"Authorization": "Bearer bks_not-a-real-token-at-all-0000"},
        timeout=10,
    )
    assert anonymous.status_code == 401
    # Sentinel: the next valid add is this user's first and only email.
    sentinel = f"Centinela {uuid.uuid4().hex[:6]}"
    assert api.add_book(title=sentinel, author="Guardia").status_code == 201
    emails = mailhog.wait_for(user.account.email, 1)
    assert [sentinel in e.subject for e in emails] == [True]
