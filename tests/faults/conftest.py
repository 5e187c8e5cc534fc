"""The fault suite: one local stack whose worker sends through a fault-injecting SMTP
server, with leases shortened so that a lost message settles in seconds (the same code
as production, other numbers: docs/architecture.md, "Leases")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.bookshelf_client import BookshelfUser
from devstack.ports import free_port
from devstack.stack import LocalStack
from tests.faults.smtp_proxy import FaultySMTP
from tests.faults.support import FAULT_ENV, TABLE, FaultStack, Observer, Reader

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parents[1] / "bench" / "results" / "faults.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TABLE:
        return
    terminalreporter.section("fault table")
    columns = ["events", "emails", "lost", "doubled", "stuck", "disagreeing", "uncertain"]
    columns += ["failed", "settle_s", "restarted"]
    width = max(map(len, TABLE))
    terminalreporter.write_line(f"{'case':<{width}}  " + "  ".join(columns))
    for name, row in TABLE.items():
        cells = "  ".join(f"{row.get(column, '')!s:>{len(column)}}" for column in columns)
        terminalreporter.write_line(f"{name:<{width}}  {cells}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(TABLE, indent=2) + "\n")
    terminalreporter.write_line(f"(saved to {RESULTS})")


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    smtp_port = free_port()
    stack = LocalStack(smtp_port=smtp_port, env_overrides=FAULT_ENV)
    smtp = FaultySMTP(smtp_port, stack.mail_catcher.smtp_port).start()
    try:
        with stack:
            yield FaultStack(stack, smtp, Observer(stack.env["DATABASE_URL"], stack.mailbox()))
    finally:
        smtp.stop()


@pytest.fixture
def reader(fault_stack: FaultStack) -> Iterator[Reader]:
    """A new user per case; the case's SMTP fault is cleared afterwards."""
    user = BookshelfUser(fault_stack.stack.base_url)
    user.register(fault_stack.stack.mailbox())
    yield Reader(user, user.api(user.api_token()))
    fault_stack.smtp.handler.clear()
