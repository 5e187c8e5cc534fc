"""Dead letters through the whole stack: the SMTP server refuses two users' emails
(550), the operator sees them on the admin page with their reason and attempts, lists
them with `flask outbox list`, and once the server accepts again resends them with
`flask outbox retry`: each arrives exactly once, and a second retry sends nothing.

The commands run as an operator runs them: `flask --app bookshelf ...` processes
against the stack's database and broker. The admin page is also photographed (for the
README with E2E_UPDATE_SCREENSHOTS=1, as tests/e2e/test_browser.py does).
"""

from __future__ import annotations

import re
import subprocess
import sys

from playwright.sync_api import Browser

from devstack.bookshelf_client import Account, BookshelfUser
from devstack.gunicorn import WEB_DIR
from devstack.process import wait_until
from tests.e2e.browser import SCREENSHOTS
from tests.faults.smtp_proxy import Fault
from tests.faults.support import FaultStack, Reader

BOOKS = (("Rayuela", "Julio Cortázar"), ("Pedro Páramo", "Juan Rulfo"))
REFUSAL = "550 5.7.1 message refused"
DEADLINE_S = 60.0


def flask(stack_env: dict[str, str], *args: str) -> str:
    """`flask --app bookshelf ARGS` as an operator runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bookshelf", *args],
        cwd=WEB_DIR,
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def photograph(browser: Browser, base_url: str, admin: Account) -> None:
    context = browser.new_context(locale="es-ES", viewport={"width": 1200, "height": 640})
    try:
        page = context.new_page()
        page.goto(f"{base_url}/auth/login")
        page.fill("input[name=email]", admin.email)
        page.fill("input[name=password]", admin.password)
        page.locator("main form button[type=submit]").click()
        page.goto(f"{base_url}/admin/emails/")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dead-letters.png"))
    finally:
        context.close()


def test_refused_emails_are_listed_for_the_operator_then_retried_exactly_once(
    fault_stack: FaultStack, reader: Reader, browser: Browser
) -> None:
    stack, observer = fault_stack.stack, fault_stack.observer
    other = BookshelfUser(stack.base_url, Account.new("bea"))
    other.register(stack.mailbox())
    users = [reader.user, other]
    addresses = {user.account.email for user in users}
    fault_stack.smtp.handler.inject(Fault.REFUSE, addresses)
    for user in users:
        api = user.api(user.api_token())
        for title, author in BOOKS:
            assert api.add_book(title=title, author=author).status_code == 201

    def all_failed() -> bool:
        rows = [observer.rows(address) for address in addresses]
        return all(set(row.values()) == {"failed"} and len(row) == len(BOOKS) for row in rows)

    assert wait_until(all_failed, DEADLINE_S, interval=0.5)
    failed_ids = {i for address in addresses for i in observer.rows(address)}

    admin = BookshelfUser(stack.base_url, Account.new("operator"))
    admin.register()
    assert admin.http.get(admin.url("/admin/emails/"), timeout=10).status_code == 404  # not yet
    assert "is an admin" in flask(stack.env, "user", "make-admin", admin.account.email)
    page = admin.get("/admin/emails/").text
    for address in addresses:
        assert address in page
    assert page.count(REFUSAL) >= len(failed_ids)
    assert all(event_id in page for event_id in failed_ids)
    photograph(browser, stack.base_url, admin.account)

    listed = flask(stack.env, "outbox", "list", "--status", "failed", "--since", "10m")
    assert failed_ids <= {line.split()[0] for line in listed.splitlines()[:-1]}
    assert "attempts 1" in listed and REFUSAL in listed  # 5xx: final at once

    fault_stack.smtp.handler.clear()
    retried = flask(stack.env, "outbox", "retry", "--status", "failed", "--since", "10m")
    found = re.search(r"(\d+) failed email\(s\) retried: queued (\d+)$", retried.strip())
    assert found and int(found[1]) == int(found[2]) >= len(failed_ids), retried
    for address in addresses:
        observer.mailhog.wait_for(address, len(BOOKS), timeout=DEADLINE_S)
    assert wait_until(
        lambda: all(set(observer.rows(a).values()) == {"sent"} for a in addresses), DEADLINE_S
    )
    again = flask(stack.env, "outbox", "retry", "--status", "failed", "--since", "10m")
    assert again.strip() == "0 failed email(s) retried"
    for user in users:
        tally = observer.settle(user, DEADLINE_S)
        assert (tally.events, tally.emails, tally.doubled, tally.lost) == (
            len(BOOKS),
            len(BOOKS),
            0,
            0,
        )
