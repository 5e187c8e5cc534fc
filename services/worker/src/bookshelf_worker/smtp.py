"""The SMTP client: smtplib with a timeout, the DATA gate and verified TLS.

Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` without a timeout, so a server
that accepts the connection and then says nothing would block a thread for ever.
SMTPSettings.open passes MAIL_TIMEOUT to smtplib, which applies it to the connect and
to every read and write on the socket (the total of one send is bounded by
smtp_pool.SendDeadline).

The SMTP classes call the current DataGate once the server has said 354 to DATA, just
before the message goes out, so the worker can mark the point of no return in Postgres
and refuse to go on if its claim expired, and tell it once the message's final "." has
been handed to the socket: a failure before that cannot have delivered anything. They
also count the replies of the current transaction, which tells smtp_pool whether a
reused connection failed before the server answered anything (it was stale).

TLS (MAIL_USE_SSL or STARTTLS) always verifies the server's certificate and host
name: without an explicit context smtplib uses an unverified one, which would hand
the mailbox credentials to anyone in the middle.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# Built once: loading the system CA bundle costs a few milliseconds per context.
TLS_CONTEXT = ssl.create_default_context()


class LeaseLost(Exception):
    """The event's claim no longer holds at DATA: another attempt may own it. Nothing
    was sent, and nothing must be."""


class DataGate:
    """`with DataGate(check):` around a send. `check()` runs after the server's 354 to
    DATA, just before the message itself: the point of no return; False stops the send
    there. `message_out` says afterwards whether the whole message, its final "."
    included, reached the socket: only then can a lost connection have delivered it
    (docs/architecture.md, "Email delivery state")."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self.check = check
        self.message_out = False
        self._token: Token[DataGate | None] | None = None

    def __enter__(self) -> DataGate:
        self._token = _current_gate.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current_gate.reset(self._token)


# A ContextVar: each thread (and each eager task) sees its own gate.
_current_gate: ContextVar[DataGate | None] = ContextVar("data_gate", default=None)
_END_OF_DATA = b"\r\n.\r\n"


class _Gated(smtplib.SMTP):
    """What both gated classes add: the DATA gate, and a count of replies read."""

    replies = 0  # replies read since smtp_pool reset it at the start of a message
    _in_data = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s: ReadableBuffer | str) -> None:
        # smtplib's data() sends the message and its end marker in one sendall, once the
        # server said 354. The gate is passed right before it, so that a worker killed
        # in between has rarely got that far; were the sendall cut short, the end
        # marker, last in the buffer, never left, and no server delivers without it.
        is_message = self._in_data and isinstance(s, bytes) and s.endswith(_END_OF_DATA)
        gate = _current_gate.get() if is_message else None
        if gate is not None and not gate.check():
            self.close()  # mid-DATA, without the end marker: the server drops it all
            raise LeaseLost("the claim on this email expired before the message went out")
        super().send(s)
        if gate is not None:
            gate.message_out = True

    def getreply(self) -> tuple[int, bytes]:
        reply = super().getreply()
        self.replies += 1
        return reply


class GatedSMTP(_Gated):
    pass


class GatedSMTPSSL(_Gated, smtplib.SMTP_SSL):
    pass


Host = GatedSMTP | GatedSMTPSSL


@dataclass(frozen=True)
class SMTPSettings:
    """Where and how to connect. Hashable: a connection is reused only for the very
    settings it was opened with."""

    server: str
    port: int
    use_ssl: bool
    use_tls: bool
    username: str | None
    password: str | None = field(repr=False)
    timeout: float  # MAIL_TIMEOUT: each connect, read and write
    context: ssl.SSLContext = field(repr=False)  # compared by identity

    def open(self, before_connect: Callable[[Host], None], limit: float) -> Host:
        """A connection ready for MAIL FROM: connected, STARTTLS, logged in, EHLO done.
        `before_connect` gets the object first (the send's deadline watches it); no
        single step waits longer than `limit` or the timeout, whichever is shorter."""
        timeout = max(0.001, min(self.timeout, limit))
        host: Host
        if self.use_ssl:
            host = GatedSMTPSSL(timeout=timeout, context=self.context)
        else:
            host = GatedSMTP(timeout=timeout)
        # smtplib names the TLS server (SNI and the host name check) after the host its
        # constructor connected to; this one connects below, after the deadline sees it.
        host._host = self.server  # type: ignore[union-attr] # not in typeshed
        before_connect(host)
        try:
            host.connect(self.server, self.port)
            if self.use_tls:
                host.starttls(context=self.context)
            if self.username and self.password:
                host.login(self.username, self.password)
            host.ehlo_or_helo_if_needed()
            if host.sock is not None:
                host.timeout = self.timeout
                host.sock.settimeout(self.timeout)
        except BaseException:
            host.close()
            raise
        return host
