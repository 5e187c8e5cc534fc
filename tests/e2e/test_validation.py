"""Invalid input gets a clear error, stores nothing and sends no email."""

from __future__ import annotations

import uuid

import pytest

from devstack.bookshelf_client import BookshelfUser
from devstack.mailbox import Mailbox
from tests.e2e.support import StackUrls

INVALID_BOOKS = [
    pytest.param({"title": "", "author": "Anónimo"}, "This field is required.", id="empty-title"),
    pytest.param(
        # 978-0-306-40615-7 is valid; the last digit is off by one.
        {"title": "Bad ISBN {marker}", "author": "Nadie", "isbn": "978-0-306-40615-8"},
        "Not a valid ISBN-10 or ISBN-13",
        id="bad-isbn",
    ),
    pytest.param(
        {"title": "Hola {marker}\r\nBcc: victim@example.com", "author": "Inyectora"},
        "Must not contain line breaks",
        id="crlf-in-title",
    ),
]


@pytest.mark.parametrize(("fields", "message"), INVALID_BOOKS)
def test_invalid_book_is_refused_stores_nothing_and_sends_nothing(
    stack: StackUrls, mailhog: Mailbox, fields: dict[str, str], message: str
) -> None:
    # English, so the assertion can quote the message the app defines.
    reader = BookshelfUser(stack.base_url, language="en")
    reader.register(mailhog)
    marker = uuid.uuid4().hex[:8]
    values = {name: value.format(marker=marker) for name, value in fields.items()}

    refused = reader.add_book_form(**values)

    assert refused.status_code == 422
    assert refused.url.endswith("/books/new")
    assert message in refused.text
    library = reader.get("/").text
    assert marker not in library

    # Sentinel instead of a sleep: one valid add afterwards, then exactly one email.
    sentinel = f"Centinela {marker}"
    reader.add_book(title=sentinel, author="Guardia")
    emails = mailhog.wait_for(reader.account.email, 1)
    assert [sentinel in e.subject for e in emails] == [True]
