"""The SMTP client: smtplib with a timeout, the DATA gate and verified TLS.

Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` without a timeout, so a server
that accepts the connection and then says nothing would block a thread for ever.
SMTPSettings.open passes MAIL_TIMEOUT to smtplib, which applies it to the connect and
to every read and write on the socket (the total of one send is bounded by
smtp_pool.SendDeadline).

The SMTP classes call the current DataGate just before DATA, so the worker can mark
the point of no return in Postgres and refuse to go on if its claim expired. They
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


# Called just before DATA, the point after which a lost connection leaves the outcome
# unknown (docs/architecture.md, "Email delivery state"); returns False to stop there.
# A ContextVar: each thread (and each eager task) sees its own gate.
_before_data: ContextVar[Callable[[], bool] | None] = ContextVar("before_data", default=None)


class DataGate:
    """`with DataGate(check):` around a send: `check()` runs just before DATA; `passed`
    says afterwards whether the send got that far."""

    def __init__(self, check: Callable[[], bool]) -> None:
        self.check = check
        self.passed = False
        self._token: Token[Callable[[], bool] | None] | None = None

    def _open(self) -> bool:
        if not self.check():
            return False
        self.passed = True
        return True

    def __enter__(self) -> DataGate:
        self._token = _before_data.set(self._open)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _before_data.reset(self._token)


def _pass_gate() -> None:
    gate = _before_data.get()
    if gate is not None and not gate():
        raise LeaseLost("the claim on this email expired before DATA")


class _Gated(smtplib.SMTP):
    """What both gated classes add: the DATA gate, and a count of replies read."""

    replies = 0  # replies read since smtp_pool reset it at the start of a message

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        _pass_gate()
        return super().data(msg)

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
