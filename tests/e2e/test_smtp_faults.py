"""The SMTP server refuses, and the whole stack copes: a book added through nginx, its
email published by the outbox relay, sent by the worker to the mail catcher, whose own
chaos switch makes the refusal (MailHog's Jim, Mailpit's chaos mode; `Mailbox`).

- A transient failure (Mailpit: 451 to MAIL FROM; MailHog: the connection closed as soon
  as it is accepted, since Jim has no 4xx) is retried: once the catcher accepts again the
  email arrives exactly once and the emails page says sent.
- A permanent refusal (550) ends the email 'failed', with the server's reply as its reason
  on the emails page; nothing arrives.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable, Iterator

import pytest

from devstack.bookshelf_client import BookshelfUser
from devstack.mailbox import Mailbox, SmtpFault
from devstack.process import wait_until
from tests.e2e.support import StackUrls

# It switches the shared catcher's SMTP side off: conftest runs it after the others.
RUNS_LAST = True
# A retry is due within 2 s of a failure (the worker's back-off) and the relay sweeps every
# 2 s; a slow shared runner gets ten times that.
STATE_DEADLINE_S = 30.0


@pytest.fixture
def refusing_smtp(stack: StackUrls, mailhog: Mailbox) -> Iterator[Callable[[bool], SmtpFault]]:
    """Starts the catcher's SMTP fault (permanent or not); it ends with the test."""

    def start(permanent: bool) -> SmtpFault:
        if mailhog.fault_reaches_open_connections:
            return mailhog.start_smtp_fault(permanent=permanent)
        if stack.local is None:
            pytest.skip(
                f"{mailhog.catcher}'s fault only reaches new SMTP connections: the worker's "
                f"open ones must be dropped by restarting it, local stack only"
            )
        # Fault first, then a fresh worker: every connection it opens meets the fault. The
        # other way round, a retry it sends on starting opens one that never would.
        fault = mailhog.start_smtp_fault(permanent=permanent)
        stack.local.stop_service("worker")
        stack.local.start_service("worker")
        return fault

    try:
        yield start
    finally:
        mailhog.end_smtp_fault()


def email_row(user: BookshelfUser, title: str) -> str:
    """The emails page's table row about the book titled `title` (its only email)."""
    rows = user.email_rows(title)
    assert len(rows) == 1, f"{len(rows)} rows for {title!r}"
    return html.unescape(rows[0][0])


def wait_for_state(user: BookshelfUser, title: str, state: str) -> None:
    if not wait_until(lambda: user.email_states(title) == [state], STATE_DEADLINE_S, 0.2):
        raise AssertionError(f"{title!r}: {user.email_states(title)}, never [{state!r}]")


def test_a_transient_smtp_failure_is_retried_then_delivered_once(
    user: BookshelfUser, mailhog: Mailbox, refusing_smtp: Callable[[bool], SmtpFault]
) -> None:
    fault = refusing_smtp(False)
    title = f"Rayuela {uuid.uuid4().hex[:6]}"

    user.add_book(title=title, author="Julio Cortázar")

    wait_for_state(user, title, "retrying")
    assert fault.reply in email_row(user, title)
    assert mailhog.messages_to(user.account.email) == []

    mailhog.end_smtp_fault()

    (email,) = mailhog.wait_for(user.account.email, 1, timeout=STATE_DEADLINE_S)
    assert title in email.subject
    wait_for_state(user, title, "sent")
    # Sent is recorded after the server took it: one email, never a second.
    assert len(mailhog.messages_to(user.account.email)) == 1


def test_a_permanent_smtp_refusal_ends_failed_with_its_reason_on_the_page(
    user: BookshelfUser, mailhog: Mailbox, refusing_smtp: Callable[[bool], SmtpFault]
) -> None:
    fault = refusing_smtp(True)
    title = f"Pedro Páramo {uuid.uuid4().hex[:6]}"

    user.add_book(title=title, author="Juan Rulfo")

    wait_for_state(user, title, "failed")
    row = email_row(user, title)
    assert f"{fault.code} {fault.reply}" in row, row
    assert mailhog.messages_to(user.account.email) == []
