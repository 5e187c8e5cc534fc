"""Sort an SMTP failure into "try again later" or "this will never work".

Transient: the server could not be reached or said "not now" (connection refused or
reset, timeout, disconnect, any 4xx reply, the task's soft time limit).
Permanent: the server said "no" (any 5xx reply, failed authentication, a refused
recipient) or the payload itself is invalid; retrying would send nothing more.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from typing import Literal

from celery.exceptions import SoftTimeLimitExceeded

from bookshelf_tasks import PayloadError


@dataclass(frozen=True)
class SendFailure:
    kind: Literal["transient", "permanent"]
    code: int | None
    reason: str

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


class EmailFailed(Exception):
    """Raised by a task whose email will not be sent; its state becomes FAILURE.

    Its only argument is the message: Celery stores exceptions as JSON (type, module,
    args) and rebuilds them with `EmailFailed(*args)` when the state is read.
    """

    @classmethod
    def of(cls, failure: SendFailure) -> EmailFailed:
        code = f"{failure.code} " if failure.code is not None else ""
        return cls(f"{failure.kind} failure: {code}{failure.reason}")


def _by_code(code: int, reason: str) -> SendFailure:
    return SendFailure("transient" if 400 <= code < 500 else "permanent", code, reason)


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def classify(exc: BaseException) -> SendFailure | None:
    """The failure `exc` stands for, or None when it is not a sending failure (a bug)."""
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
