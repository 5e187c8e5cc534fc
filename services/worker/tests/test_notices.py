"""Emails that are not about a book go the same way as the book emails: registered by
name, claimed on their outbox row, sent once, recorded; a held row is never sent, and
the secret link reaches the email only, never a log line. Real SMTP (aiosmtpd) and a
real Postgres; tasks run eagerly."""

from __future__ import annotations

import logging
import uuid

import pytest
from flask import Flask
from flask_babel import force_locale

from bookshelf_tasks import BOOK_ADDED, VERIFY_ADDRESS
from bookshelf_tasks.names import NOTICE_NAME_BY_KIND
from bookshelf_worker.rendering import NOTICE_SUBJECTS
from services.worker.tests.support import (
    SECRET_MARK,
    MakeEvent,
    MakeNotice,
    ScriptedSMTPHandler,
    email_lines,
    event_row,
    run_task,
)


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [line.fields["outcome"] for line in email_lines(caplog)]


@pytest.mark.parametrize(
    ("locale", "subject", "wording"),
    [
        ("es", "Confirma tu dirección de correo en Bookshelf", "Para confirmar que esta"),
        ("en", "Confirm your email address for Bookshelf", "To confirm that this address"),
    ],
)
def test_a_verification_email_is_sent_once_with_its_link(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_notice: MakeNotice,
    caplog: pytest.LogCaptureFixture,
    locale: str,
    subject: str,
    wording: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    notice = make_notice(locale=locale)
    link = notice.details["link"]
    first = run_task(worker_app, VERIFY_ADDRESS, notice.to_dict(), task_id=notice.event_id)
    again = run_task(worker_app, VERIFY_ADDRESS, notice.to_dict(), task_id=notice.event_id)

    assert (first.result, again.result) == ("sent", "duplicate-skipped")
    [message] = smtp_handler.delivered
    assert message["To"].addresses[0].addr_spec == notice.user_email
    assert message["Subject"] == subject
    assert message["Message-ID"] == f"<{notice.event_id}@bookshelf>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert link in text and f'href="{link}"' in html
    assert wording in text and "Ana Núñez" in text
    row = event_row(worker_app.extensions["delivery_engine"], notice.event_id)
    assert (row.status, row.attempts) == ("sent", 1)
    # Not the link, nor the payload, in any line of ours or Celery's (aiosmtpd, the
    # mail server here, logs the whole conversation: it stands for the recipient).
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours and not [line for line in ours if SECRET_MARK in line]


def test_every_notice_kind_has_a_subject_and_templates(worker_app: Flask) -> None:
    assert set(NOTICE_SUBJECTS) == set(NOTICE_NAME_BY_KIND)
    loader = worker_app.jinja_env.loader
    assert loader is not None
    for kind in NOTICE_NAME_BY_KIND:
        for suffix in ("txt", "html"):
            loader.get_source(worker_app.jinja_env, f"email/{kind}.{suffix}")


def test_a_held_email_is_never_sent_by_a_stray_message(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_notice: MakeNotice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    notice = make_notice(status="pending")
    engine = worker_app.extensions["delivery_engine"]
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE email_events SET due_at = NULL, hold_reason = 'unverified' WHERE id = %s",
            (notice.event_id,),
        )
    result = run_task(worker_app, VERIFY_ADDRESS, notice.to_dict(), task_id=notice.event_id)
    assert result.result == "duplicate-skipped"
    assert not smtp_handler.delivered and smtp_handler.data_attempts == 0
    row = event_row(engine, notice.event_id)
    assert (row.status, row.hold_reason, row.attempts) == ("pending", "unverified", 0)


def test_a_notice_sent_under_another_kinds_name_is_rejected(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_notice: MakeNotice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    notice = make_notice()
    result = run_task(worker_app, "bookshelf.email.book_added", notice.to_dict())
    assert result.result == "rejected"
    assert not smtp_handler.delivered
    assert SECRET_MARK not in caplog.text  # the refusal names the field, not the value


def test_emails_queued_for_a_deleted_account_are_not_sent(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_event: MakeEvent,
    make_notice: MakeNotice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Account deletion removes the user's rows (ON DELETE CASCADE); the messages already
    on the broker then find nothing to claim, and nothing goes out."""
    engine = worker_app.extensions["delivery_engine"]
    with engine.begin() as connection:
        owner = connection.exec_driver_sql(
            "INSERT INTO users (name, email, password_hash, created_at) "
            "VALUES ('Leaving', %s, '-', now()) RETURNING id",
            (f"leaving-{uuid.uuid4().hex[:12]}@example.com",),
        ).scalar_one()
    book_email = make_event(owner=owner)
    notice = make_notice(owner=owner)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM users WHERE id = %s", (owner,))

    results = [
        run_task(worker_app, BOOK_ADDED, book_email.to_dict(), task_id=book_email.event_id),
        run_task(worker_app, VERIFY_ADDRESS, notice.to_dict(), task_id=notice.event_id),
    ]
    assert [r.result for r in results] == ["duplicate-skipped"] * 2
    assert not smtp_handler.delivered and smtp_handler.mail_attempts == 0


DETAILS = {
    "verify_address": {"link": "https://bookshelf.test/auth/verify/T1"},
    "address_taken": {"reset_page": "https://bookshelf.test/auth/reset/"},
    "password_reset": {"link": "https://bookshelf.test/auth/reset/T2"},
    "confirm_new_address": {"link": "https://bookshelf.test/auth/account/email/T3"},
    "address_changed": {"new_address": "nueva@example.com"},
}


# The worker's own job emails (digest, import_summary): test_job_emails.py.
JOB_KINDS = {"digest", "import_summary"}


def test_every_notice_kind_is_rendered_by_one_of_the_suites() -> None:
    assert set(DETAILS) | JOB_KINDS == set(NOTICE_NAME_BY_KIND)


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize("kind", sorted(DETAILS))
def test_every_notice_kind_renders_its_details_in_both_languages(
    worker_app: Flask,
    smtp_handler: ScriptedSMTPHandler,
    make_notice: MakeNotice,
    kind: str,
    locale: str,
) -> None:
    notice = make_notice(kind=kind, locale=locale, details=DETAILS[kind])
    assert run_task(worker_app, NOTICE_NAME_BY_KIND[kind], notice.to_dict()).result == "sent"
    [message] = smtp_handler.delivered
    with worker_app.app_context(), force_locale(locale):
        assert message["Subject"] == str(NOTICE_SUBJECTS[kind])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for value in DETAILS[kind].values():
        assert value in text and value in html
    assert ("Hola" if locale == "es" else "Hello") in text
