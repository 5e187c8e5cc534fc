"""Two users adding books at the same time each get only their own emails."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from devstack.bookshelf_client import BookshelfUser
from devstack.mailbox import Mailbox
from tests.e2e.support import StackUrls

BOOKS_EACH = 5


def add_books(reader: BookshelfUser, label: str) -> list[str]:
    titles = [f"{label} {n} {uuid.uuid4().hex[:6]}" for n in range(BOOKS_EACH)]
    for title in titles:
        reader.add_book(title=title, author=f"Autora de {label}")
    return titles


def test_two_users_adding_at_once_each_receive_only_their_own_emails(
    stack: StackUrls, mailhog: Mailbox
) -> None:
    ana, bruno = BookshelfUser(stack.base_url), BookshelfUser(stack.base_url)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda reader: reader.register(mailhog), (ana, bruno)))
        ana_job = pool.submit(add_books, ana, "Ana")
        bruno_job = pool.submit(add_books, bruno, "Bruno")
        titles = {ana.account.email: ana_job.result(), bruno.account.email: bruno_job.result()}

    for reader, other in ((ana, bruno), (bruno, ana)):
        emails = mailhog.wait_for(reader.account.email, BOOKS_EACH)
        assert len(emails) == BOOKS_EACH
        subjects = [e.subject for e in emails]
        mine = titles[reader.account.email]
        assert sorted(t for s in subjects for t in mine if t in s) == sorted(mine)
        theirs = titles[other.account.email]
        assert not any(t in s for s in subjects for t in theirs)
        for email in emails:
            assert email.to == [reader.account.email]
            assert reader.account.name in email.part("text/plain")
