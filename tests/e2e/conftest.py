"""The e2e suite: one stack for the whole session, every test marked `e2e`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.bookshelf_client import BookshelfUser
from devstack.flavours import mailbox
from devstack.mailbox import Mailbox
from tests.e2e.support import FIGURES, StackUrls, record_figure, running_stack, save_figures

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees every collected item, not only this folder's.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
    # A module that stops part of the shared stack (RUNS_LAST = True) runs after the
    # others: should the stack not recover, only that module fails. sort() is stable.
    items.sort(key=runs_last)


def runs_last(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return HERE in item.path.parents and bool(getattr(module, "RUNS_LAST", False))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("e2e figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value}")
    saved = save_figures()
    terminalreporter.write_line(f"(saved to {saved})")


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[StackUrls]:
    with running_stack(keep_logs=lambda: request.session.testsfailed > 0) as urls:
        record_figure("stack_mode", urls.mode)
        record_figure("mail_catcher", urls.mail_catcher)
        if urls.local is not None:
            record_figure("broker", urls.local.broker.flavour)
        if urls.cold_start_seconds is not None:
            record_figure("cold_start_seconds", round(urls.cold_start_seconds, 2))
        if urls.timings:
            record_figure(
                "cold_start_steps_seconds", {k: round(v, 2) for k, v in urls.timings.items()}
            )
        yield urls


@pytest.fixture(scope="session")
def mailhog(stack: StackUrls) -> Mailbox:
    """The mailbox of the stack's catcher (MailHog or Mailpit, MAIL_CATCHER); the fixture
    keeps its old name so that every test reads the same on either."""
    return mailbox(stack.mail_catcher, stack.mail_api_url)


@pytest.fixture
def user(stack: StackUrls, mailhog: Mailbox) -> BookshelfUser:
    """A freshly registered, verified, logged-in user with a unique email address."""
    reader = BookshelfUser(stack.base_url)
    reader.register(mailhog)
    return reader
