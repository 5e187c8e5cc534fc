"""The email tasks against a real SMTP server (aiosmtpd), run eagerly with .apply()."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask

from bookshelf_tasks import BOOK_ADDED, BOOK_DELETED, BOOK_EDITED
from bookshelf_tasks.delivery import MAX_ATTEMPTS
from services.worker.tests.support import (
    HANG,
    MAIL_TIMEOUT,
    MakeEvent,
    ScriptedSMTPHandler,
    email_lines,
    event_row,
    run_task,
)


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{line.fields['outcome']}@{line.fields['attempt']}" for line in email_lines(caplog)]


def test_added_email_in_spanish_carries_the_book(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = make_event()
    result = run_task(worker_app, BOOK_ADDED, event.to_dict())

    assert result.state == "SUCCESS", result.traceback
    [message] = smtp_handler.delivered
    assert message["To"].addresses[0].addr_spec == event.user_email
    assert message["Subject"] == "Libro añadido: Rayuela"
    assert message["Message-ID"] == f"<{event.event_id}@bookshelf>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        for expected in ("Rayuela", "Julio Cortázar", "9788437604572", "1963", "Ana Núñez"):
            assert expected in body
        assert str(event.occurred_at_utc.year) in body and "UTC" in body
    assert "Añadiste este libro" in text
    assert outcomes(caplog) == ["sent@1"]
    row = event_row(worker_app.extensions["delivery_engine"], event.event_id)
    assert (row.status, row.attempts, row.due_at) == ("sent", 1, None)
    assert row.delivered_at is not None and row.data_sent_at is not None


def test_message_is_seven_bit_clean(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    """No reliance on 8BITMIME: Spanish text travels quoted-printable."""
    run_task(worker_app, BOOK_ADDED, make_event(title="Años de cañas").to_dict())
    [raw] = smtp_handler.raw
    assert raw.isascii()
    [message] = smtp_handler.delivered
    for subtype in ("plain", "html"):
        part = message.get_body((subtype,))
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert "Años de cañas" in part.get_content()


def test_deleted_email_in_english_without_isbn_or_year(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    event = make_event(kind="deleted", locale="en", isbn=None, year=None)
    assert run_task(worker_app, BOOK_DELETED, event.to_dict()).state == "SUCCESS"
    [message] = smtp_handler.delivered
    assert message["Subject"] == "Book deleted: Rayuela"
    text = message.get_body(("plain",)).get_content()
    assert "You deleted this book" in text
    assert "ISBN" not in text and "Year" not in text


@pytest.mark.parametrize(
    ("locale", "subject", "opening"),
    [
        ("es", "Libro editado: Rayuela", "Editaste este libro"),
        ("en", "Book edited: Rayuela", "You edited this book"),
    ],
)
def test_edited_email_carries_the_book_as_it_now_reads(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    locale: str,
    subject: str,
    opening: str,
) -> None:
    event = make_event(kind="edited", locale=locale)
    result = run_task(worker_app, BOOK_EDITED, event.to_dict())

    assert result.state == "SUCCESS", result.traceback
    [message] = smtp_handler.delivered
    assert message["Subject"] == subject
    assert message["Message-ID"] == f"<{event.event_id}@bookshelf>"
    for body in (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    ):
        assert opening in body
        for expected in ("Rayuela", "Julio Cortázar", "9788437604572", "1963", "Ana Núñez"):
            assert expected in body
    row = event_row(worker_app.extensions["delivery_engine"], event.event_id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_script_in_a_title_is_escaped_in_html_only(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    event = make_event(title='<script>alert("x")</script> & Co')
    run_task(worker_app, BOOK_ADDED, event.to_dict())
    [message] = smtp_handler.delivered
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert '<script>alert("x")</script> & Co' in message.get_body(("plain",)).get_content()


def test_a_451_is_retried_then_delivered_once(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_handler.data_replies = ["451 4.3.0 try again later", "250 OK"]
    event = make_event()
    run_task(worker_app, BOOK_ADDED, event.to_dict())
    assert smtp_handler.data_attempts == 2
    assert len(smtp_handler.delivered) == 1
    assert outcomes(caplog) == ["retrying@1", "sent@2"]
    retry = next(r for r in caplog.records if getattr(r, "email", {}).get("outcome") == "retrying")
    assert retry.email["smtp_code"] == 451 and retry.email["event_id"] == event.event_id  # type: ignore[attr-defined]


def test_transient_failures_stop_after_bounded_attempts(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_handler.data_replies = ["421 4.7.0 busy"]
    event = make_event()
    run_task(worker_app, BOOK_ADDED, event.to_dict())
    assert smtp_handler.data_attempts == MAX_ATTEMPTS
    assert not smtp_handler.delivered
    assert outcomes(caplog)[-1] == f"failed@{MAX_ATTEMPTS}"
    assert outcomes(caplog).count(f"failed@{MAX_ATTEMPTS}") == 1
    row = event_row(worker_app.extensions["delivery_engine"], event.event_id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.last_error.startswith("421 ")


@pytest.mark.parametrize(
    ("script", "code"),
    [
        ({"data_replies": ["550 5.7.1 message rejected"]}, 550),
        ({"rcpt_reply": "550 5.1.1 no such user"}, 550),
        ({"data_replies": ["554 5.6.0 bad content"]}, 554),
    ],
)
def test_a_5xx_is_not_retried_and_logged_once(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
    script: dict[str, Any],
    code: int,
) -> None:
    for key, value in script.items():
        setattr(smtp_handler, key, value)
    event = make_event()
    result = run_task(worker_app, BOOK_ADDED, event.to_dict())

    assert (result.state, result.result) == ("SUCCESS", "failed")
    row = event_row(worker_app.extensions["delivery_engine"], event.event_id)
    assert row.status == "failed" and row.last_error.startswith(f"{code} ")
    assert smtp_handler.data_attempts <= 1 and not smtp_handler.delivered
    assert outcomes(caplog) == ["failed@1"]
    [failed] = [r for r in caplog.records if hasattr(r, "email")]
    assert failed.levelno == logging.ERROR
    assert failed.email["failure"] == "permanent" and failed.email["smtp_code"] == code  # type: ignore[attr-defined]
    assert "5." in failed.email["reason"]  # type: ignore[attr-defined]


def test_a_server_silent_after_data_leaves_the_email_uncertain_not_resent(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server may have kept the message: resending could double it (the policy in
    docs/architecture.md, "Email delivery state")."""
    smtp_handler.data_replies = [HANG, "250 OK"]
    event = make_event()
    started = time.monotonic()
    result = run_task(worker_app, BOOK_ADDED, event.to_dict())
    elapsed = time.monotonic() - started

    assert elapsed >= MAIL_TIMEOUT, elapsed  # bounded by smtplib's socket timeout
    assert result.result == "uncertain" and smtp_handler.data_attempts == 1
    assert outcomes(caplog) == ["uncertain@1"]
    row = event_row(worker_app.extensions["delivery_engine"], event.event_id)
    assert (row.status, row.due_at) == ("uncertain", None)
    assert "timed out" in row.last_error


def test_a_server_silent_before_data_is_retried(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_handler.rcpt_replies = [HANG, "250 OK"]
    event = make_event()
    run_task(worker_app, BOOK_ADDED, event.to_dict())
    assert len(smtp_handler.delivered) == 1
    assert outcomes(caplog) == ["retrying@1", "sent@2"]
    assert event_row(worker_app.extensions["delivery_engine"], event.event_id).status == "sent"


def test_an_unreachable_server_is_transient(
    worker_app: Flask, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    from devstack.ports import free_port

    worker_app.extensions["mail"].port = free_port()  # nobody listens there
    event = make_event()
    run_task(worker_app, BOOK_ADDED, event.to_dict())
    assert len(outcomes(caplog)) == MAX_ATTEMPTS
    row = event_row(worker_app.extensions["delivery_engine"], event.event_id)
    assert row.status == "failed" and row.last_error.startswith("ConnectionRefusedError")


@pytest.mark.parametrize(
    "field",
    ["title", "user_name", "author", "user_email"],
)
def test_crlf_in_a_field_cannot_inject_a_header(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
    field: str,
) -> None:
    event = make_event()
    payload = event.to_dict()
    payload[field] = "Dune\r\nBcc: eve@example.com\r\nX-Injected: yes"
    result = run_task(worker_app, BOOK_ADDED, payload)

    assert result.result == "rejected"
    assert smtp_handler.data_attempts == 0 and not smtp_handler.delivered
    assert outcomes(caplog) == ["rejected@1"]
    # The row is untouched: the relay publishes it again from the web's own payload.
    assert event_row(worker_app.extensions["delivery_engine"], event.event_id).status == "queued"


def test_the_mail_layer_refuses_crlf_even_past_validation(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent
) -> None:
    """Defence in depth: an event that somehow skipped validation still cannot inject."""
    from bookshelf_worker.sending import send_email

    event = make_event()
    object.__setattr__(event, "title", "Dune\r\nBcc: eve@example.com")
    with worker_app.app_context(), pytest.raises(Exception) as caught:
        send_email(event)
    assert type(caught.value).__name__ in {"BadHeaderError", "HeaderParseError", "ValueError"}
    assert not smtp_handler.delivered


@pytest.mark.parametrize(
    ("name", "change"),
    [(BOOK_DELETED, {}), (BOOK_ADDED, {"locale": "fr"}), (BOOK_ADDED, {"extra": 1})],
)
def test_an_invalid_payload_fails_without_retry(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
    name: str,
    change: dict[str, Any],
) -> None:
    payload = {**make_event(kind="added").to_dict(), **change}
    result = run_task(worker_app, name, payload)
    assert result.result == "rejected"
    assert smtp_handler.data_attempts == 0
    assert outcomes(caplog) == ["rejected@1"]


@pytest.mark.parametrize(
    "title",
    [
        "Cien años de ñandúes 📚 <b>tags</b> & “comillas” b311a6",
        "Ñ " * 120,  # long: folded over several encoded words, every space kept
        "plain ASCII title that is long enough to be folded over more than one line " * 3,
    ],
)
def test_subject_survives_encoding_and_folding(
    worker_app: Flask, smtp_handler: ScriptedSMTPHandler, make_event: MakeEvent, title: str
) -> None:
    title = title.strip()
    run_task(worker_app, BOOK_ADDED, make_event(title=title).to_dict())
    [message] = smtp_handler.delivered
    assert message["Subject"] == f"Libro añadido: {title}"
    [raw] = smtp_handler.raw
    assert raw.count(b"\n") == raw.count(b"\r\n")  # SMTP line endings throughout
