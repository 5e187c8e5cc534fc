"""One SMTP connection per worker thread, reused across emails; a total deadline per send.

Opening a connection (TCP, greeting, EHLO, STARTTLS, AUTH) and closing it (QUIT) for
every email cost more of the worker's CPU than the email itself, and several round
trips of its time (issue 10). So each thread keeps the connection it last used:
- **Per thread** (threading.local): smtplib.SMTP is not thread-safe, and a thread sends
  one email at a time. Under prefork each process has one thread, so one connection.
- **Reused while it works.** Any failure closes it (the server may be gone or hung,
  or the transaction half done); the next email opens a new one.
- **A stale connection is not a failure.** A server may close a connection that sat
  idle (EOF, a reset, or "421" as the reply to our next command). When a *reused*
  connection fails on the first command of a message, before the server answered
  anything, the message goes out at once on a new connection, within the same
  attempt. Nothing of it was accepted and DATA was never reached: this cannot double
  it. Any later failure counts as usual (classify(), the DATA gate).
- **Closed when idle** for IDLE_TIMEOUT (QUIT, from the housekeeping thread), and
  **retired** after MAX_MESSAGES, so that no connection outlives a server's limits.
- **Keyed by its settings** (server, port, TLS, credentials, TLS context): a
  connection is only reused for the settings it was opened with.

smtplib's socket timeout (MAIL_TIMEOUT) bounds each read and write, not a server that
trickles a byte every few seconds. SendDeadline bounds the whole send (opening,
stale retry and transaction): once it passes, the housekeeping thread shuts the
socket down, the blocked call fails at once, and the send raises
SendDeadlineExceeded, a TimeoutError (transient, or uncertain once the whole message
had gone out: smtp.DataGate). With the thread pool Celery's soft and hard time limits
do not apply; this frees the thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bookshelf_worker.smtp import Host, SMTPSettings

log = logging.getLogger(__name__)

IDLE_TIMEOUT: Final = 30.0  # seconds unused before a connection is closed
MAX_MESSAGES: Final = 100  # messages before a connection is replaced by a new one
QUIT_TIMEOUT: Final = 2.0  # how long a polite QUIT may wait for its reply
TICK: Final = 0.25  # how often deadlines are checked while a send is in flight

Clock = Callable[[], float]


class SendDeadlineExceeded(TimeoutError):
    """The send outlived MAIL_SEND_DEADLINE: its connection was cut."""


@dataclass(frozen=True)
class Envelope:
    """One message as it goes over the wire."""

    sender: str
    recipients: Sequence[str]
    body: bytes
    mail_options: Sequence[str] = ()
    rcpt_options: Sequence[str] = ()


def _cut(host: Host) -> None:
    """Shut the socket down under a blocked read or write: it returns at once."""
    sock = host.sock
    if sock is not None:
        # socket.socket's own shutdown, also for an SSLSocket (whose override would
        # unwrap the TLS layer under the other thread's feet). OSError: already closed.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class SendDeadline:
    """The total time one send may take; `expire()` cuts the connection it watches."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self.at = clock() + seconds
        self.expired = False
        self._clock = clock
        self._host: Host | None = None
        self._finished = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - self._clock()

    def watch(self, host: Host) -> None:
        with self._lock:
            self._host = host
            if self.expired:
                _cut(host)

    def expire(self) -> None:
        """From the housekeeping thread, every tick once due (a socket connected since
        the last tick is cut too). Never after finish(): by then the connection may
        carry the thread's next message."""
        with self._lock:
            if self._finished:
                return
            self.expired = True
            if self._host is not None:
                _cut(self._host)

    def finish(self) -> bool:
        """The send is over: stop watching. True if the deadline cut it."""
        with self._lock:
            self._finished = True
            self._host = None
            return self.expired


@dataclass(eq=False)
class _Connection:
    settings: SMTPSettings
    host: Host
    last_used: float
    sent: int = 0
    busy: bool = True  # in a send; the housekeeper leaves it alone
    closed: bool = False


def _stale(exc: BaseException, host: Host) -> bool:
    """The server had closed this connection before the message's first command."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421 and host.replies == 1  # "closing channel", at once
    if host.replies or not isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
        return False
    # smtplib reports a read that timed out as a disconnect: that server is hung, not gone.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return False
        cause = cause.__cause__ or cause.__context__
    return True


_pools: weakref.WeakSet[SMTPPool] = weakref.WeakSet()


def close_all() -> None:
    """Every pool of this process: QUIT its idle connections (at worker shutdown)."""
    for pool in list(_pools):
        pool.close()


class SMTPPool:
    """The connections of one app's threads, and the thread that watches them."""

    def __init__(
        self,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        max_messages: int = MAX_MESSAGES,
        clock: Clock = time.monotonic,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.max_messages = max_messages
        self.clock = clock
        self.opened = 0  # connections opened, for tests and logs
        self.stale = 0  # reused connections found closed by the server
        self._reset()
        _pools.add(self)

    def _reset(self) -> None:
        """Fresh state for this process (also in a forked child: nothing inherited)."""
        self._pid = os.getpid()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._connections: set[_Connection] = set()
        self._deadlines: set[SendDeadline] = set()
        self._thread: threading.Thread | None = None
        self._closing = False  # close() was called: nothing is kept for reuse

    # --- sending --------------------------------------------------------------

    def send(self, settings: SMTPSettings, envelope: Envelope, deadline: float) -> None:
        """Send `envelope` on this thread's connection within `deadline` seconds.
        Raises what smtplib raises, LeaseLost from the DATA gate, or
        SendDeadlineExceeded."""
        if self._pid != os.getpid():
            self._reset()
        watch = SendDeadline(deadline, self.clock)
        self._watch(watch)
        try:
            connection = self._send(settings, envelope, watch)
        except BaseException as exc:
            if self._finish(watch):
                raise SendDeadlineExceeded(
                    f"the send took longer than MAIL_SEND_DEADLINE ({deadline:g} s)"
                ) from exc
            raise
        if self._finish(watch):  # cut just as the reply came: sent, but the socket is gone
            self._discard(connection)
        else:
            self._release(connection)

    def _send(self, settings: SMTPSettings, envelope: Envelope, watch: SendDeadline) -> _Connection:
        connection, reused = self._checkout(settings, watch)
        try:
            self._transact(connection.host, envelope)
            return connection
        except BaseException as exc:
            self._discard(connection)
            if not reused or watch.expired or not _stale(exc, connection.host):
                raise
            with self._lock:
                self.stale += 1
            log.info(
                "smtp: the server had closed the reused connection (%s: %s); "
                "sending on a new one",
                type(exc).__name__, exc,
            )  # fmt: skip
        connection = self._open(settings, watch)
        try:
            self._transact(connection.host, envelope)
        except BaseException:
            self._discard(connection)
            raise
        return connection

    @staticmethod
    def _transact(host: Host, envelope: Envelope) -> None:
        host.replies = 0
        host.sendmail(
            envelope.sender,
            list(envelope.recipients),
            envelope.body,
            list(envelope.mail_options),
            list(envelope.rcpt_options),
        )

    def _checkout(self, settings: SMTPSettings, watch: SendDeadline) -> tuple[_Connection, bool]:
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            with self._lock:
                usable = (
                    not connection.closed
                    and connection.settings == settings
                    and connection.sent < self.max_messages
                    and self.clock() - connection.last_used < self.idle_timeout
                )
                connection.busy = usable
            if usable:
                watch.watch(connection.host)
                return connection, True
            self._retire(connection)
        return self._open(settings, watch), False

    def _open(self, settings: SMTPSettings, watch: SendDeadline) -> _Connection:
        remaining = watch.remaining()
        if remaining <= 0:
            raise SendDeadlineExceeded("no time left to open an SMTP connection")
        host = settings.open(watch.watch, remaining)
        connection = _Connection(settings, host, last_used=self.clock())
        with self._lock:
            self._connections.add(connection)
            self.opened += 1
        self._local.connection = connection
        return connection

    def _release(self, connection: _Connection) -> None:
        with self._lock:
            connection.sent += 1
            connection.last_used = self.clock()
            connection.busy = False
            retire = connection.sent >= self.max_messages or self._closing
        if retire:  # now, while the server expects us: the next email opens a new one
            self._retire(connection)

    def _discard(self, connection: _Connection) -> None:
        """Close without QUIT: after a failure the server may be gone or hung."""
        with self._lock:
            connection.closed = True
            self._connections.discard(connection)
        connection.host.close()

    def _retire(self, connection: _Connection, *, only_if_idle: bool = False) -> None:
        """QUIT, politely. Whoever marks it closed (under the lock) QUITs it: the
        owner thread, or the housekeeper when it is idle; the other one leaves it."""
        with self._lock:
            if connection.closed or (only_if_idle and connection.busy):
                return
            connection.closed = True
            self._connections.discard(connection)
        host = connection.host
        try:
            if host.sock is not None:
                host.sock.settimeout(min(QUIT_TIMEOUT, host.timeout))
            host.quit()
        except (smtplib.SMTPException, OSError):
            host.close()

    # --- the housekeeping thread: deadlines and idle connections ---------------

    def _watch(self, watch: SendDeadline) -> None:
        with self._lock:
            self._deadlines.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._housekeep, name="smtp-housekeeper", daemon=True
                )
                self._thread.start()
            elif len(self._deadlines) == 1:
                self._wake.notify()  # from its idle wait to ticking

    def _finish(self, watch: SendDeadline) -> bool:
        with self._lock:
            self._deadlines.discard(watch)
        return watch.finish()

    def _housekeep(self) -> None:
        """Cut the sends past their deadline (every TICK while any is in flight), and
        QUIT idle connections (every idle_timeout / 3). After close(), it ends once no
        send is in flight: the deadlines of the last sends still hold."""
        reap_every = self.idle_timeout / 3
        next_reap = self.clock() + reap_every
        while True:
            with self._lock:
                if self._closing and not self._deadlines:
                    self._thread = None  # a later send starts another
                    return
                wait = TICK if self._deadlines else max(0.0, next_reap - self.clock())
                self._wake.wait(wait)
                now = self.clock()
                due = [watch for watch in self._deadlines if watch.at <= now]
                reap = now >= next_reap and not self._closing
            for watch in due:
                watch.expire()
            if reap:
                next_reap = now + reap_every
                self.close_idle()

    def close_idle(self) -> int:
        """QUIT every connection unused for idle_timeout; how many there were."""
        now = self.clock()
        with self._lock:
            idle = [
                c
                for c in self._connections
                if not c.busy and now - c.last_used >= self.idle_timeout
            ]
        for connection in idle:
            self._retire(connection, only_if_idle=True)
        return len(idle)

    def close(self) -> None:
        """QUIT every connection not in a send; those in a send are QUIT when it ends.
        Sends still running keep their deadlines (Celery may send worker_shutdown
        before its thread pool has finished)."""
        if self._pid != os.getpid():  # a forked child never QUITs its parent's sessions
            self._reset()
            return
        with self._lock:
            self._closing = True
            self._wake.notify_all()
            thread = self._thread if not self._deadlines else None
            connections = list(self._connections)
        for connection in connections:
            self._retire(connection, only_if_idle=True)
        if thread is not None and thread is not threading.current_thread():
            thread.join(QUIT_TIMEOUT)  # it ends at once: no send in flight
