"""Flask-Mail, sending through this thread's reused SMTP connection, and the Message
for one email (a BookEvent or a Notice).

TimeoutMail.send hands each message to the app's SMTPPool (smtp_pool.py): one
connection per thread, reused, with the DATA gate, verified TLS and a total deadline
per send (MAIL_SEND_DEADLINE). `connect()` still gives Flask-Mail's one-off
Connection, with the same timeout, gate and TLS, for anyone who asks for one.
"""

from __future__ import annotations

import smtplib
import time
import uuid
from email.charset import QP, Charset
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from email.policy import Compat32
from types import TracebackType
from typing import Any, Final

from flask import current_app
from flask_mail import (
    BadHeaderError,
    Connection,
    Mail,
    Message,
    email_dispatched,
    sanitize_address,
    sanitize_addresses,
)

from bookshelf_tasks import Email
from bookshelf_worker import smtp
from bookshelf_worker.rendering import RenderedEmail
from bookshelf_worker.smtp_pool import Envelope, SMTPPool


class _SMTPCompat32(Compat32):
    """compat32 with CRLF, and a shortcut for the common header: short, ASCII, one
    line. compat32 runs every header through email.header.Header().encode(), which
    returns such a value as it is, at a cost that was a fifth of the worker's CPU per
    email (services/worker/tests/test_mail.py checks both give the same bytes)."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= (self.max_line_length or 0)
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)  # type: ignore[misc]


SMTP_COMPAT32 = _SMTPCompat32(linesep="\r\n")
# app.extensions key of the app's SMTPPool (created in create_app).
SMTP_POOL: Final = "smtp_pool"


def smtp_settings(state: Any, timeout: float) -> smtp.SMTPSettings:
    """The SMTP settings of Flask-Mail's state (`app.extensions["mail"]`)."""
    return smtp.SMTPSettings(
        server=state.server,
        port=int(state.port),
        use_ssl=bool(state.use_ssl),
        use_tls=bool(state.use_tls),
        username=state.username,
        password=state.password,
        timeout=timeout,
        context=smtp.TLS_CONTEXT,  # looked up per send: tests swap it
    )


def envelope_of(message: Message) -> Envelope:
    """The checks and encoding of Flask-Mail's Connection.send, without the sending."""
    assert message.send_to, "No recipients have been added"
    assert message.sender, "No sender, and no MAIL_DEFAULT_SENDER"
    if message.has_bad_headers():
        raise BadHeaderError
    if message.date is None:
        message.date = time.time()
    return Envelope(
        sender=sanitize_address(message.sender),
        recipients=list(sanitize_addresses(message.send_to)),
        body=message.as_bytes(),
        mail_options=list(message.mail_options),
        rcpt_options=list(message.rcpt_options),
    )


class TimeoutConnection(Connection):
    """Flask-Mail's one-off connection (`mail.connect()`), opened like the pool's."""

    def configure_host(self) -> smtplib.SMTP:
        timeout = float(current_app.config["MAIL_TIMEOUT"])
        return smtp_settings(self.mail, timeout).open(lambda host: None, timeout)

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

    def send(self, message: Message) -> None:
        """Through this thread's pooled connection; raises what the send raised."""
        app = current_app
        state = app.extensions["mail"]
        if state.suppress:  # TESTING: Flask-Mail records the message, sends nothing
            super().send(message)
            return
        envelope = envelope_of(message)
        pool: SMTPPool = app.extensions[SMTP_POOL]
        settings = smtp_settings(state, float(app.config["MAIL_TIMEOUT"]))
        pool.send(settings, envelope, float(app.config["MAIL_SEND_DEADLINE"]))
        email_dispatched.send(app._get_current_object(), message=message)  # type: ignore[attr-defined]


class BookshelfMessage(Message):
    """Flask-Mail's Message with two encoding fixes; everything else is unchanged.

    Bodies: quoted-printable instead of raw 8-bit UTF-8. 8-bit bodies need the
    server's 8BITMIME extension (RFC 6152), which smtplib does not check and MailHog,
    among others, does not offer.
    Headers: Flask-Mail encodes Subject, From and To correctly (email.header), then
    switches the message to email.policy.SMTP, whose folder re-encodes them and, on
    Python 3.11, drops a space that falls between two encoded words ("ñandúes 📚"
    arrives as "ñandúes📚"). Generating with compat32 + CRLF keeps its encoding.
    And one saving: the multipart boundaries are set here, not found by the generator,
    which compiles a regular expression per boundary to check that the text does not
    contain it (a tenth of the CPU per email). "=_" cannot occur in quoted-printable
    or base64 text, so a boundary that starts with it needs no check.
    """

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        charset = Charset(self.charset or "utf-8")
        charset.body_encoding = QP
        return MIMEText(text or "", _subtype=subtype, _charset=charset)  # type: ignore[arg-type]

    def _message(self) -> MIMEBase:
        message = super()._message()
        message.policy = SMTP_COMPAT32
        for part in message.walk():
            if part.is_multipart():
                part.set_boundary(f"=_{uuid.uuid4().hex}")
        if self.subject:
            # Encoded knowing its header name, so the first line is used too.
            # compat32 takes a Header object; typeshed only knows str.
            subject = Header(self.subject, "utf-8", header_name="Subject")
            message.replace_header("Subject", subject)  # type: ignore[arg-type]
        return message


def message_id_for(event_id: str) -> str:
    """Stable across retries and redeliveries, so that a duplicate can be recognised."""
    return f"<{event_id}@bookshelf>"


def build_message(event: Email, email: RenderedEmail) -> Message:
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
