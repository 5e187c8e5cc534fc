"""Flask-Mail with an SMTP timeout, and the Message for one BookEvent.

Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` without a timeout, so a server
that accepts the connection and then says nothing blocks the worker process for
ever. TimeoutMail passes MAIL_TIMEOUT to smtplib, which applies it to the connect
and to every read and write on the socket.

The SMTP classes call the current DataGate just before DATA, so the worker can mark
the point of no return in Postgres and refuse to go on if its claim expired.

TLS (MAIL_USE_SSL or STARTTLS) always verifies the server's certificate and host
name: without an explicit context smtplib uses an unverified one, which would hand
the mailbox credentials to anyone in the middle.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from contextvars import ContextVar, Token
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from types import TracebackType
from typing import TYPE_CHECKING

from flask import current_app
from flask_mail import Connection, Mail, Message

from bookshelf_tasks import BookEvent
from bookshelf_worker.rendering import RenderedEmail

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SMTP_COMPAT32 = policy.compat32.clone(linesep="\r\n")
# Built once: loading the system CA bundle costs a few milliseconds per context.
TLS_CONTEXT = ssl.create_default_context()


class LeaseLost(Exception):
    """The event's claim no longer holds at DATA: another attempt may own it. Nothing
    was sent, and nothing must be."""


# Called just before DATA, the point after which a lost connection leaves the outcome
# unknown (docs/architecture.md, "Email delivery state"); returns False to stop there.
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


class GatedSMTP(smtplib.SMTP):
    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        _pass_gate()
        return super().data(msg)


class GatedSMTPSSL(smtplib.SMTP_SSL):
    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        _pass_gate()
        return super().data(msg)


class TimeoutConnection(Connection):
    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        timeout = float(current_app.config["MAIL_TIMEOUT"])
        host: smtplib.SMTP
        if self.mail.use_ssl:
            host = GatedSMTPSSL(
                self.mail.server, self.mail.port, timeout=timeout, context=TLS_CONTEXT
            )
        else:
            host = GatedSMTP(self.mail.server, self.mail.port, timeout=timeout)
        try:
            if self.mail.use_tls:
                host.starttls(context=TLS_CONTEXT)
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.host is None:
            return
        if exc_type is not None:
            # After a failure the server may be gone or hung: a polite QUIT would
            # wait another MAIL_TIMEOUT, or raise and hide the real error.
            self.host.close()
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()  # the message was accepted; a lost QUIT changes nothing


class TimeoutMail(Mail):
    def connect(self) -> Connection:
        return TimeoutConnection(current_app.extensions["mail"])


class BookshelfMessage(Message):
    """Flask-Mail's Message with two encoding fixes; everything else is unchanged.

    Bodies: quoted-printable instead of raw 8-bit UTF-8. 8-bit bodies need the
    server's 8BITMIME extension (RFC 6152), which smtplib does not check and MailHog,
    among others, does not offer.
    Headers: Flask-Mail encodes Subject, From and To correctly (email.header), then
    switches the message to email.policy.SMTP, whose folder re-encodes them and, on
    Python 3.11, drops a space that falls between two encoded words ("ñandúes 📚"
    arrives as "ñandúes📚"). Generating with compat32 + CRLF keeps its encoding.
    """

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        charset = Charset(self.charset or "utf-8")
        charset.body_encoding = QP
        return MIMEText(text or "", _subtype=subtype, _charset=charset)  # type: ignore[arg-type]

    def _message(self) -> MIMEBase:
        message = super()._message()
        message.policy = SMTP_COMPAT32
        if self.subject:
            # Encoded knowing its header name, so the first line is used too.
            # compat32 takes a Header object; typeshed only knows str.
            subject = Header(self.subject, "utf-8", header_name="Subject")
            message.replace_header("Subject", subject)  # type: ignore[arg-type]
        return message


def message_id_for(event_id: str) -> str:
    """Stable across retries and redeliveries, so that a duplicate can be recognised."""
    return f"<{event_id}@bookshelf>"


def build_message(event: BookEvent, email: RenderedEmail) -> Message:
    message = BookshelfMessage(
        subject=email.subject,
        recipients=[(event.user_name, event.user_email)],
        body=email.text,
        html=email.html,
        # RFC 3834: tells auto-responders not to answer a confirmation email.
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    message.msgId = message_id_for(event.event_id)
    return message
