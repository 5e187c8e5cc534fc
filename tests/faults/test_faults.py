"""Exactly one email per change, whatever fails: a burst of adds and deletes through
nginx, a fault injected mid-burst, then every event counted in the mailbox, on its row
and on the status page. The table is printed at the end (`make test-faults`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable

from tests.faults.smtp_proxy import Fault
from tests.faults.support import (
    MAIL_TIMEOUT_S,
    TABLE,
    FaultStack,
    Reader,
    Tally,
    burst,
    children,
    wait_until,
)

ADDS = 30  # and every third one deleted: 40 events per case
SETTLE_S = 90.0


def run_case(
    fault_stack: FaultStack,
    reader: Reader,
    name: str,
    fault: Callable[[], object] | None = None,
    *,
    fault_at: int = ADDS // 2,
) -> Tally:
    restarts_before = dict(fault_stack.stack.restarts)
    sent = burst(reader.api, ADDS, fault_at=fault_at, fault=fault)
    tally = fault_stack.observer.settle(reader.user, SETTLE_S)
    restarted = {
        service: count - restarts_before.get(service, 0)
        for service, count in fault_stack.stack.restarts.items()
        if count > restarts_before.get(service, 0)
    }
    TABLE[name] = {
        "adds": ADDS,
        "answers": dict(sent.adds + sent.deletes),
        **tally.row(),
        "restarted": restarted,
    }
    # Nothing the user was told is saved may be missing: each 201 has its event.
    assert tally.events >= sent.adds[201] + sent.deletes[200], (sent, tally)
    return tally


def assert_exactly_once(tally: Tally, *, uncertain_allowed: bool = False) -> None:
    """Per event: one email, the page agreeing, nothing in flight. 'uncertain' (at most
    one copy, shown as such) only where the case is that ambiguity."""
    assert (tally.lost, tally.doubled, tally.stuck, tally.disagreeing) == (0, 0, 0, 0), tally
    assert uncertain_allowed or tally.uncertain == 0, tally
    delivered = tally.events - tally.failed
    assert delivered - tally.uncertain <= tally.emails <= delivered, tally


def later(seconds: float, action: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        time.sleep(seconds)
        action()

    return run


# --- the broker ----------------------------------------------------------------


def test_broker_sigkill_restarted_by_the_supervisor(
    fault_stack: FaultStack, reader: Reader
) -> None:
    stack = fault_stack.stack
    before = stack.restarts.get("broker", 0)
    tally = run_case(
        fault_stack, reader, "broker SIGKILL (AOF), restarted",
        lambda: stack.kill_service("broker", signal.SIGKILL),
    )  # fmt: skip
    assert stack.restarts.get("broker", 0) > before
    assert_exactly_once(tally)


def test_broker_sigterm_restarted(fault_stack: FaultStack, reader: Reader) -> None:
    stack = fault_stack.stack
    tally = run_case(
        fault_stack, reader, "broker SIGTERM, restarted",
        lambda: stack.kill_service("broker", signal.SIGTERM),
    )  # fmt: skip
    assert_exactly_once(tally)


def test_broker_restarted_with_its_data_lost(fault_stack: FaultStack, reader: Reader) -> None:
    """No persistence, or a disk lost: every queued message is gone; the relay resends
    them from Postgres when their lease ends."""
    stack = fault_stack.stack

    def lose_the_data() -> None:
        stack.stop_service("broker")
        for path in stack.broker.workdir.iterdir():
            if path.name.startswith("appendonly") or path.suffix == ".rdb":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        stack.start_service("broker")

    assert_exactly_once(run_case(fault_stack, reader, "broker restarted, data lost", lose_the_data))


def test_broker_down_at_request_time_and_back(fault_stack: FaultStack, reader: Reader) -> None:
    stack = fault_stack.stack

    def outage() -> None:
        stack.stop_service("broker")
        time.sleep(3)
        stack.start_service("broker")

    assert_exactly_once(run_case(fault_stack, reader, "broker down 3 s at request time", outage))


# --- the worker -------------------------------------------------------------------


def test_worker_main_process_sigkill(fault_stack: FaultStack, reader: Reader) -> None:
    """Its reserved messages stay unacknowledged on the broker for the visibility
    timeout; the relay resends their rows when the leases end. With the thread pool
    (the default) the worker is also the sender: a send the kill catches after the
    point of no return (DATA) may or may not have reached the server; it is
    'uncertain', never resent by itself, at most one copy."""
    stack = fault_stack.stack
    tally = run_case(
        fault_stack, reader, "worker main process SIGKILL",
        lambda: stack.kill_service("worker", signal.SIGKILL),
    )  # fmt: skip
    assert_exactly_once(tally, uncertain_allowed=True)


def test_pool_process_killed_after_data_is_uncertain_not_doubled(
    fault_stack: FaultStack, reader: Reader
) -> None:
    """The server kept the message but the process sending it died before the 250:
    that email is 'uncertain' (one copy in the mailbox), never sent again by itself.
    The sending process is a prefork pool's child; with the thread pool (the default)
    it is the worker itself, and every send it had in flight dies with it: those
    before DATA are sent again when their lease ends, those after are uncertain."""
    stack, smtp = fault_stack.stack, fault_stack.smtp
    smtp.handler.inject(Fault.HOLD, {reader.address}, remaining=1)

    def kill_the_sender() -> None:
        wait_until(smtp.handler.held.is_set, 30, "a message held at DATA")
        worker_pid = stack.worker.process.proc.pid  # type: ignore[union-attr]
        for pid in children(worker_pid) or [worker_pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        smtp.handler.released.set()

    tally = run_case(
        fault_stack, reader, "pool process SIGKILL after DATA", kill_the_sender, fault_at=0
    )
    # The held one, and any other send the kill caught after DATA.
    assert tally.uncertain >= 1, tally
    assert_exactly_once(tally, uncertain_allowed=True)


# --- the SMTP server -------------------------------------------------------------


def test_250_arriving_after_the_timeout_is_uncertain_not_doubled(
    fault_stack: FaultStack, reader: Reader
) -> None:
    smtp = fault_stack.smtp
    smtp.handler.inject(
        Fault.LATE_REPLY, {reader.address}, remaining=2, late_by=MAIL_TIMEOUT_S + 1.5
    )
    tally = run_case(fault_stack, reader, "SMTP 250 after MAIL_TIMEOUT")
    assert tally.uncertain == 2, tally
    assert_exactly_once(tally, uncertain_allowed=True)
    assert tally.emails == tally.events


def test_smtp_silent_for_a_while(fault_stack: FaultStack, reader: Reader) -> None:
    """Sessions hang before DATA: each times out, is retried, and is delivered once."""
    smtp = fault_stack.smtp

    def pause() -> None:
        smtp.handler.inject(Fault.SILENT, {reader.address})
        time.sleep(8)
        smtp.handler.clear()

    assert_exactly_once(run_case(fault_stack, reader, "SMTP silent 8 s", pause))


def test_smtp_refusing_connections_for_a_while(fault_stack: FaultStack, reader: Reader) -> None:
    smtp = fault_stack.smtp

    def refuse() -> None:
        smtp.stop()
        time.sleep(10)
        smtp.start()

    tally = run_case(fault_stack, reader, "SMTP refusing connections 10 s", refuse)
    # Stopping the server cuts a session that may be past DATA: that one is uncertain.
    assert_exactly_once(tally, uncertain_allowed=True)


def test_smtp_hanging_up_on_data(fault_stack: FaultStack, reader: Reader) -> None:
    """The server hangs up on DATA before its 354, eight times: it never had those
    messages, so each is retried and delivered once, none left 'uncertain'."""
    fault_stack.smtp.handler.inject(Fault.HANG_UP_AT_DATA, {reader.address}, remaining=8)
    tally = run_case(fault_stack, reader, "SMTP hanging up on DATA (8 times)")
    assert fault_stack.smtp.handler.remaining == 0  # the fault did happen, eight times
    assert_exactly_once(tally)


def test_smtp_451_then_250(fault_stack: FaultStack, reader: Reader) -> None:
    fault_stack.smtp.handler.inject(Fault.DEFER, {reader.address}, remaining=8)
    tally = run_case(fault_stack, reader, "SMTP 451 (8 times) then 250")
    assert_exactly_once(tally)


def test_smtp_550_fails_with_its_reason_and_is_not_retried(
    fault_stack: FaultStack, reader: Reader
) -> None:
    fault_stack.smtp.handler.inject(Fault.REFUSE, {reader.address})
    tally = run_case(fault_stack, reader, "SMTP 550")
    assert tally.failed == tally.events and tally.emails == 0, tally
    assert (tally.doubled, tally.stuck, tally.disagreeing) == (0, 0, 0), tally
    page = reader.user.get("/notifications/").text
    assert "550" in page and "message refused" in page


# --- Postgres, gunicorn, the relay -------------------------------------------------


def test_postgres_restart(fault_stack: FaultStack, reader: Reader) -> None:
    stack = fault_stack.stack
    tally = run_case(fault_stack, reader, "Postgres restart", stack.postgres.restart)
    assert_exactly_once(tally)


def test_gunicorn_worker_sigkill(fault_stack: FaultStack, reader: Reader) -> None:
    stack = fault_stack.stack

    def kill_a_web_worker() -> None:
        web_pid = stack.web.process.proc.pid  # type: ignore[union-attr]
        os.kill(children(web_pid)[0], signal.SIGKILL)

    assert_exactly_once(run_case(fault_stack, reader, "gunicorn worker SIGKILL", kill_a_web_worker))


def test_relay_killed_mid_pass(fault_stack: FaultStack, reader: Reader) -> None:
    """The broker is down during the burst, so every row waits for the relay; it is
    killed three times while it drains them."""
    stack = fault_stack.stack
    restarts = stack.restarts.get("outbox-relay", 0)

    def broker_back_then_relay_killed() -> None:
        time.sleep(1.0)
        stack.start_service("broker")
        relay = stack.service("outbox-relay")
        for kill in range(1, 4):
            time.sleep(0.5)
            stack.kill_service("outbox-relay", signal.SIGKILL)

            def restarted(wanted: int = restarts + kill) -> bool:
                return stack.restarts.get("outbox-relay", 0) >= wanted and relay.running

            wait_until(restarted, 30, "the relay restarted")

    stack.stop_service("broker")
    tally = run_case(
        fault_stack,
        reader,
        "relay SIGKILL x3 mid-pass",
        broker_back_then_relay_killed,
        fault_at=ADDS - 1,
    )
    assert_exactly_once(tally)
