"""The broker goes down while users keep working, then comes back on the same address.

Nobody restarts web, worker or relay by hand, and nobody presses "retry": the request must
stay fast (it never touches the broker), the status page must say the email is not queued
yet, the outbox relay must deliver it once the broker answers again, and web and worker
must reconnect on their own. (Should the
worker crash on the reconnection instead, as kombu's Redis transport sometimes does,
devstack's supervisor restarts it: the figures record any restart.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect

from devstack.bookshelf_client import BOOK_PAGE, BookshelfUser
from devstack.mailbox import Email, Mailbox
from devstack.process import tail, wait_until
from devstack.stack import RELAY_INTERVAL_S, LocalStack
from tests.e2e.browser import checked_context, layout_problems
from tests.e2e.browsing import screenshot
from tests.e2e.support import StackUrls, record_figure

# It stops a part of the shared stack: conftest runs it after the others.
RUNS_LAST = True

# The request never publishes; 5 s leaves a slow runner room while still failing on a
# request that would hang on the dead broker.
ADD_SECONDS_BOUND = 5.0
# The worker reconnects with a growing back-off and the relay passes every
# RELAY_INTERVAL_S; either can be the one the email waits for.
DELIVERY_DEADLINE_S = 30.0
ADDED_FLASH = "se añadió a tu biblioteca"
PENDING_LABEL = "Aún sin poner en cola — se reintentará automáticamente"


@pytest.fixture
def local(stack: StackUrls) -> LocalStack:
    if stack.local is None:
        pytest.skip(f"stops and restarts the broker process: local stack only, not {stack.mode}")
    return stack.local


def stack_logs(local: LocalStack) -> str:
    """The tails that explain a missing email: who failed to reconnect, and how."""
    logs = {
        "worker": local.worker.log_path,
        "outbox relay": local.relay.log_path,
        "web": local.web.process.log_path,
        "broker": local.broker.process.log_path,
    }
    return "\n".join(f"--- {name}: {path}\n{tail(path, 25)}" for name, path in logs.items())


def wait_for_emails(mailhog: Mailbox, local: LocalStack, address: str, count: int) -> list[Email]:
    try:
        return mailhog.wait_for(address, count, timeout=DELIVERY_DEADLINE_S)
    except AssertionError as missing:
        raise AssertionError(f"{missing}\n{stack_logs(local)}") from None


def await_state(reader: BookshelfUser, title: str, wanted: str, local: LocalStack) -> None:
    seen: list[list[str]] = []

    def shown() -> bool:
        seen.append(reader.email_states(title))
        return seen[-1] == [wanted]

    if not wait_until(shown, DELIVERY_DEADLINE_S, interval=0.2):
        raise AssertionError(
            f"/notifications never showed {title!r} as {wanted!r}; last seen: {seen[-1:]}\n"
            f"{stack_logs(local)}"
        )


def relay_passes_after(local: LocalStack, moment: float) -> Callable[[], bool]:
    """True once a whole relay pass began after `moment` (time.time()): two heartbeats
    later than it, as the first may end a pass that began before."""
    beats: list[float] = []

    def check() -> bool:
        beat = local.relay_heartbeat.stat().st_mtime
        if beat > moment and beat not in beats:
            beats.append(beat)
        return len(beats) >= 2

    return check


def the_waiting_email_shows_why_and_its_retry(
    browser: Browser, stack: StackUrls, reader: BookshelfUser, title: str
) -> None:
    """The status page at 375 and 1280 px: the row's state, its explanation and the Retry button
    on screen, nothing wider than the window, and axe-core content. Photographed at both
    widths (the README's with E2E_UPDATE_SCREENSHOTS=1)."""
    for width, shot in ((375, "notifications-phone.png"), (1280, "notifications.png")):
        context = checked_context(browser, stack.base_url, reader, width=width)
        try:
            page = context.new_page()
            page.goto(f"{stack.base_url}/notifications/")
            row = page.locator("tr", has_text=title)
            expect(row.locator(".state-detail")).to_contain_text("cola de mensajes")
            expect(row.locator("button", has_text="Reintentar")).to_be_in_viewport(ratio=1)
            assert layout_problems(page) == []
            screenshot(page, shot)
        finally:
            context.close()


def test_books_added_while_the_broker_is_down_are_emailed_once_it_is_back(
    local: LocalStack, stack: StackUrls, mailhog: Mailbox, browser: Browser
) -> None:
    broker_url = local.broker.url
    restarts_before = dict(local.restarts)
    title = f"La tregua {uuid.uuid4().hex[:6]}"
    reader = BookshelfUser(stack.base_url)
    reader.register(mailhog)  # verified while the broker is up: its emails are not held
    local.stop_service("broker")  # on purpose: the supervisor leaves it down
    stopped = time.perf_counter()
    try:
        reader.logout()
        reader.login()

        began = time.perf_counter()
        added = reader.add_book_form(title=title, author="Mario Benedetti", year="1960")
        add_seconds = time.perf_counter() - began
        added_at = time.time()

        assert added.ok and BOOK_PAGE.search(added.url), f"{added.status_code} {added.url}"
        assert add_seconds < ADD_SECONDS_BOUND, f"the add took {add_seconds:.2f}s"
        assert ADDED_FLASH in added.text
        assert title in reader.get("/").text
        assert reader.email_states(title) == ["pending"]
        assert PENDING_LABEL in reader.get("/notifications/").text
        # The relay tries it while the broker is still down, and leaves it pending.
        relay_tried = wait_until(relay_passes_after(local, added_at), 3 * RELAY_INTERVAL_S)
        assert relay_tried, f"no outbox relay pass after the add\n{stack_logs(local)}"
        assert reader.email_states(title) == ["pending"]
        assert mailhog.messages_to(reader.account.email) == []
        the_waiting_email_shows_why_and_its_retry(browser, stack, reader, title)
    finally:
        local.start_service("broker")  # the same BrokerServer: the same port, the same URL
    back = time.perf_counter()
    down_seconds = back - stopped
    assert local.broker.url == broker_url

    (first,) = wait_for_emails(mailhog, local, reader.account.email, 1)
    delivered_seconds = time.perf_counter() - back
    assert title in first.subject
    await_state(reader, title, "sent", local)
    sent_seconds = time.perf_counter() - back

    # Web and worker reconnected: the request queues this one itself, the worker sends it.
    second_title = f"Primavera con una esquina rota {uuid.uuid4().hex[:6]}"
    began = time.perf_counter()
    second = reader.add_book_form(title=second_title, author="Mario Benedetti")
    second_add_seconds = time.perf_counter() - began
    assert second.ok and BOOK_PAGE.search(second.url)
    assert ADDED_FLASH in second.text, stack_logs(local)
    # The second email is also the sentinel: a duplicate of the first would come before it.
    emails = wait_for_emails(mailhog, local, reader.account.email, 2)
    assert sorted(second_title in e.subject for e in emails) == [False, True]
    assert len({e.message_id for e in emails}) == 2
    await_state(reader, second_title, "sent", local)

    record_figure(
        "broker_outage",
        {
            "broker_down_s": round(down_seconds, 2),
            "add_with_broker_down_ms": round(add_seconds * 1000, 1),
            "relay_email_after_broker_back_s": round(delivered_seconds, 2),
            "status_sent_after_broker_back_s": round(sent_seconds, 2),
            "add_after_broker_back_ms": round(second_add_seconds * 1000, 1),
            "supervisor_restarts": {
                name: count - restarts_before[name]
                for name, count in local.restarts.items()
                if count != restarts_before[name]
            },
        },
    )
