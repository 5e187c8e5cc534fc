"""The SMTP connection pool against real servers (aiosmtpd, and a raw socket server that
trickles): one connection per thread reused across messages, replaced within the send
when the server had closed it, closed when idle or after max_messages, and a send that
never outlives its deadline, whatever the server does."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Iterator

import pytest

from bookshelf_worker.smtp import TLS_CONTEXT, SMTPSettings
from bookshelf_worker.smtp_pool import Envelope, SendDeadlineExceeded, SMTPPool
from devstack.ports import free_port
from devstack.process import wait_until
from services.worker.tests.support import (
    HANG,
    MAIL_TIMEOUT,
    CountingSMTPHandler,
    ScriptedSMTPHandler,
    TrackingController,
    TricklingSMTP,
)

DEADLINE = 30.0  # generous: only the deadline tests below run into theirs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings_for(port: int, timeout: float = MAIL_TIMEOUT) -> SMTPSettings:
    return SMTPSettings(
        server="127.0.0.1",
        port=port,
        use_ssl=False,
        use_tls=False,
        username=None,
        password=None,
        timeout=timeout,
        context=TLS_CONTEXT,
    )


def envelope(number: int) -> Envelope:
    body = f"Subject: test {number}\r\nMessage-ID: <{number}@bookshelf>\r\n\r\nhello\r\n"
    return Envelope("no-reply@bookshelf.test", [f"reader-{number}@example.com"], body.encode())


def in_thread(action: Callable[[], None], guard: float = 60.0) -> BaseException | None:
    """Run `action` in a thread of its own, as the worker's pool does; returns what it
    raised. The join is a guard against a hang, not a measurement."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(guard)
    assert not thread.is_alive(), "the send still holds its thread"
    return raised[0] if raised else None


class Server:
    """A counting aiosmtpd server that can be restarted on the same port."""

    def __init__(self, **smtp_parameters: object) -> None:
        self.handler = CountingSMTPHandler()
        self.port = free_port()
        self.parameters = smtp_parameters
        self.controller: TrackingController | None = None

    def start(self) -> Server:
        self.controller = TrackingController(
            self.handler, hostname="127.0.0.1", port=self.port, **self.parameters
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server().start()
    yield running
    running.stop()


@pytest.fixture
def pool() -> Iterator[SMTPPool]:
    made = SMTPPool()
    yield made
    made.close()


def test_one_connection_carries_many_messages(server: Server, pool: SMTPPool) -> None:
    for number in range(5):
        pool.send(settings_for(server.port), envelope(number), DEADLINE)
    assert len(server.handler.delivered) == 5
    assert (server.handler.sessions, pool.opened) == (1, 1)
    assert server.handler.quits == 0  # kept open for the next one


def test_each_thread_has_its_own_connection(server: Server, pool: SMTPPool) -> None:
    def three() -> None:
        for number in range(3):
            pool.send(settings_for(server.port), envelope(number), DEADLINE)

    threads = [threading.Thread(target=three) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(server.handler.delivered) == 12
    assert server.handler.sessions == pool.opened == 4


def test_a_connection_the_server_dropped_is_replaced_within_the_send(
    server: Server, pool: SMTPPool
) -> None:
    pool.send(settings_for(server.port), envelope(1), DEADLINE)
    server.stop()  # a restart: the pooled connection is gone with the old process
    server.start()
    pool.send(settings_for(server.port), envelope(2), DEADLINE)
    assert server.handler.delivered == ["reader-1@example.com", "reader-2@example.com"]
    assert (pool.stale, pool.opened) == (1, 2)


def test_a_connection_the_server_timed_out_is_replaced_within_the_send(
    pool: SMTPPool,
) -> None:
    server = Server(timeout=0.2).start()  # aiosmtpd hangs up on a client idle 0.2 s
    try:
        pool.send(settings_for(server.port), envelope(1), DEADLINE)
        assert wait_until(lambda: server.handler.closed == 1, 10)
        pool.send(settings_for(server.port), envelope(2), DEADLINE)
    finally:
        server.stop()
    assert len(server.handler.delivered) == 2
    assert (pool.stale, pool.opened) == (1, 2)


def test_a_421_as_the_first_reply_is_a_stale_connection(pool: SMTPPool) -> None:
    """ "421 closing channel" is how a server says it dropped an idle client."""
    handler = ScriptedSMTPHandler(mail_replies=["250 OK", "421 4.4.2 idle", "250 OK"])
    port = free_port()
    controller = TrackingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        pool.send(settings_for(port), envelope(1), DEADLINE)
        pool.send(settings_for(port), envelope(2), DEADLINE)
    finally:
        controller.stop()
    assert len(handler.delivered) == 2
    assert (handler.mail_attempts, pool.stale, pool.opened) == (3, 1, 2)


def test_a_failure_after_the_servers_first_reply_is_not_retried(pool: SMTPPool) -> None:
    """The connection was alive (MAIL was accepted): the failure is the message's."""
    handler = ScriptedSMTPHandler(rcpt_replies=["250 OK", "421 4.3.0 busy"])
    port = free_port()
    controller = TrackingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        pool.send(settings_for(port), envelope(1), DEADLINE)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            pool.send(settings_for(port), envelope(2), DEADLINE)
    finally:
        controller.stop()
    assert (handler.rcpt_attempts, pool.stale) == (2, 0)


def test_an_idle_connection_is_closed_with_quit(server: Server) -> None:
    clock = Clock()
    pool = SMTPPool(idle_timeout=30, clock=clock)
    try:
        pool.send(settings_for(server.port), envelope(1), DEADLINE)
        clock.now += 29
        assert pool.close_idle() == 0
        clock.now += 2
        assert pool.close_idle() == 1  # what the housekeeping thread does
        assert wait_until(lambda: server.handler.closed == 1, 10)
        assert server.handler.quits == 1
        pool.send(settings_for(server.port), envelope(2), DEADLINE)
    finally:
        pool.close()
    assert (server.handler.sessions, pool.opened, pool.stale) == (2, 2, 0)


def test_a_connection_idle_too_long_is_not_reused(server: Server) -> None:
    """Even before the housekeeper closed it: the next message opens a new one."""
    clock = Clock()
    pool = SMTPPool(idle_timeout=30, clock=clock)
    try:
        pool.send(settings_for(server.port), envelope(1), DEADLINE)
        clock.now += 31
        pool.send(settings_for(server.port), envelope(2), DEADLINE)
    finally:
        pool.close()
    # QUIT to the idle one, and to the second at close().
    assert (server.handler.sessions, server.handler.quits, pool.stale) == (2, 2, 0)


def test_a_connection_is_replaced_after_max_messages(server: Server) -> None:
    pool = SMTPPool(max_messages=3)
    try:
        for number in range(7):
            pool.send(settings_for(server.port), envelope(number), DEADLINE)
    finally:
        pool.close()
    assert len(server.handler.delivered) == 7
    assert (server.handler.sessions, pool.opened) == (3, 3)
    assert server.handler.quits == 3  # after the 3rd, the 6th, and the 7th at close()


def test_new_settings_open_a_new_connection(server: Server, pool: SMTPPool) -> None:
    pool.send(settings_for(server.port), envelope(1), DEADLINE)
    pool.send(settings_for(server.port, timeout=MAIL_TIMEOUT * 2), envelope(2), DEADLINE)
    assert (server.handler.sessions, server.handler.quits, pool.opened) == (2, 1, 2)


def test_the_deadline_frees_a_thread_held_by_a_server_silent_after_data(
    pool: SMTPPool,
) -> None:
    """A socket timeout longer than the deadline: only the deadline can end this."""
    handler = ScriptedSMTPHandler(data_replies=[HANG])
    port = free_port()
    controller = TrackingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        error = in_thread(lambda: pool.send(settings_for(port, timeout=60), envelope(1), 1.0))
    finally:
        handler.released.set()
        controller.stop()
    assert isinstance(error, SendDeadlineExceeded), error
    assert isinstance(error, TimeoutError)  # classified like any timeout
    assert "MAIL_SEND_DEADLINE (1 s)" in str(error)
    assert isinstance(error.__cause__, smtplib.SMTPServerDisconnected)
    assert handler.data_attempts == 1


def test_the_deadline_frees_a_thread_held_by_a_server_that_trickles() -> None:
    """Every read gets a byte within MAIL_TIMEOUT; the reply never ends."""
    server = TricklingSMTP(every=MAIL_TIMEOUT / 5).start()
    pool = SMTPPool()
    try:
        error = in_thread(lambda: pool.send(settings_for(server.port), envelope(1), 2.0))
        assert isinstance(error, SendDeadlineExceeded), error
        assert wait_until(lambda: server.dropped == 1, 10)  # the client hung up
        # The thread is free for the next message, on a new connection.
        error = in_thread(lambda: pool.send(settings_for(server.port), envelope(2), 2.0))
        assert isinstance(error, SendDeadlineExceeded), error
    finally:
        pool.close()
        server.stop()
    assert (server.messages, pool.opened, pool.stale) == (2, 2, 0)


def test_close_at_shutdown_keeps_the_deadline_of_a_send_in_flight(pool: SMTPPool) -> None:
    """Celery may send worker_shutdown (which closes the pool) while its threads still
    send: those sends stay bounded by their deadline."""
    handler = ScriptedSMTPHandler(data_replies=[HANG])
    port = free_port()
    controller = TrackingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    raised: list[BaseException] = []

    def send() -> None:
        try:
            pool.send(settings_for(port, timeout=60), envelope(1), 1.0)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            raised.append(error)

    sender = threading.Thread(target=send, daemon=True)
    try:
        sender.start()
        assert wait_until(lambda: handler.data_attempts == 1, 10)
        pool.close()
        sender.join(60)
        assert not sender.is_alive(), "the send still holds its thread"
    finally:
        handler.released.set()
        controller.stop()
    [error] = raised
    assert isinstance(error, SendDeadlineExceeded), error
