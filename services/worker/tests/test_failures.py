"""Pure unit tests: how each exception smtplib can raise is classified."""

from __future__ import annotations

import smtplib
import socket

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from bookshelf_tasks import PayloadError
from bookshelf_worker.failures import classify
from bookshelf_worker.sending import retry_countdown


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "transient", None),
        (ConnectionResetError(104, "reset by peer"), "transient", None),
        (TimeoutError("timed out"), "transient", None),
        (socket.gaierror(-2, "Name or service not known"), "transient", None),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "transient", None),
        (SoftTimeLimitExceeded(), "transient", None),
        (smtplib.SMTPConnectError(421, b"too many connections"), "transient", 421),
        (smtplib.SMTPDataError(451, b"4.3.0 try later"), "transient", 451),
        (smtplib.SMTPSenderRefused(452, b"4.3.1 storage", "a@b.c"), "transient", 452),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"mailbox busy")}), "transient", 450),
        (smtplib.SMTPDataError(550, b"5.7.1 rejected"), "permanent", 550),
        (smtplib.SMTPDataError(554, b"5.6.0 bad"), "permanent", 554),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}), "permanent", 550),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "a@b.c"), "permanent", 553),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), "permanent", 535),
        (smtplib.SMTPAuthenticationError(454, b"4.7.0 temp auth"), "permanent", 454),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported"), "permanent", None),
        (PayloadError("title", "must not be empty"), "permanent", None),
    ],
)
def test_classify(exc: BaseException, kind: str, code: int | None) -> None:
    failure = classify(exc)
    assert failure is not None
    assert (failure.kind, failure.code) == (kind, code)
    assert failure.reason


@pytest.mark.parametrize("exc", [KeyError("x"), TypeError("bad call"), RuntimeError("bug")])
def test_bugs_are_not_classified(exc: BaseException) -> None:
    assert classify(exc) is None


@pytest.mark.parametrize(
    ("exc", "out", "not_out"),
    [
        (smtplib.SMTPServerDisconnected("closed"), "uncertain", "transient"),
        (TimeoutError("timed out"), "uncertain", "transient"),
        (smtplib.SMTPDataError(451, b"4.3.0 try later"), "transient", "transient"),
        (smtplib.SMTPDataError(550, b"5.7.1 rejected"), "permanent", "permanent"),
    ],
)
def test_once_the_whole_message_is_out_only_an_answer_decides(
    exc: BaseException, out: str, not_out: str
) -> None:
    """Before the final "." left, the server cannot have kept it: no failure is
    uncertain. After, only a failure without a reply is."""
    after, before = classify(exc, message_out=True), classify(exc, message_out=False)
    assert after is not None and before is not None
    assert (after.kind, before.kind) == (out, not_out)


def test_reason_is_decoded_text() -> None:
    failure = classify(smtplib.SMTPDataError(550, b"5.7.1 sin permiso"))
    assert failure is not None and failure.reason == "5.7.1 sin permiso"


@pytest.mark.parametrize("retries", range(12))
def test_backoff_grows_is_capped_and_jittered(retries: int) -> None:
    from bookshelf_tasks.celery_config import EMAIL_RETRY_BACKOFF_BASE, EMAIL_RETRY_BACKOFF_MAX

    ceiling = min(EMAIL_RETRY_BACKOFF_MAX, EMAIL_RETRY_BACKOFF_BASE * 2**retries)
    samples = {retry_countdown(retries) for _ in range(50)}
    assert all(ceiling / 2 <= s <= ceiling for s in samples)
    assert len(samples) > 1  # jittered, not a fixed schedule
