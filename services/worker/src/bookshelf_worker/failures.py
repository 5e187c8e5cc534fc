"""Sort an SMTP failure into transient, permanent or uncertain (the rules:
docs/architecture.md, "Email delivery state", Failures)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from typing import Literal

from celery.exceptions import SoftTimeLimitExceeded

from bookshelf_tasks import PayloadError


@dataclass(frozen=True)
class SendFailure:
    kind: Literal["transient", "permanent", "uncertain"]
    code: int | None
    reason: str

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


def _by_code(code: int, reason: str) -> SendFailure:
    return SendFailure("transient" if 400 <= code < 500 else "permanent", code, reason)


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def classify(exc: BaseException, *, message_out: bool = False) -> SendFailure | None:
    """The failure `exc` stands for, or None when it is not a sending failure (a bug).

    `message_out`: the whole message, its final "." included, had been sent when `exc`
    was raised, so the server may have kept it.
    """
    failure = _classify(exc)
    if message_out and failure is not None and failure.code is None and failure.transient:
        return SendFailure("uncertain", None, failure.reason)
    return failure


def _classify(exc: BaseException) -> SendFailure | None:
    if isinstance(exc, PayloadError):
        return SendFailure("permanent", None, str(exc))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendFailure("permanent", exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # One recipient per message, so its reply is the reply.
        code, reason = next(iter(exc.recipients.values()), (550, b"recipient refused"))
        return _by_code(code, _text(reason))
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 400:
        return _by_code(exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendFailure("permanent", None, str(exc) or "SMTP extension not supported")
    if isinstance(exc, smtplib.SMTPServerDisconnected | SoftTimeLimitExceeded):
        return SendFailure("transient", None, str(exc) or type(exc).__name__)
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendFailure("transient", None, f"unexpected reply {exc.smtp_code}")
    # ConnectionRefusedError, ConnectionResetError, TimeoutError, DNS failures...
    if isinstance(exc, OSError):
        return SendFailure("transient", None, f"{type(exc).__name__}: {exc}")
    return None
