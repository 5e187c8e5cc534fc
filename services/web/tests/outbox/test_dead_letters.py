"""The operator's dead letters: `flask outbox list` and `retry` across users, the
admin-only page, and the outbox gauges the relay serves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import text

from bookshelf.extensions import db
from bookshelf.outbox.metrics import OutboxCollector
from bookshelf_tasks.delivery import EmailStatus
from devstack.ports import free_port
from services.web.tests.outbox.support import (
    EmailQueue,
    add_events,
    put_in_state,
    row,
    statuses,
)
from services.web.tests.support import Account, AuthActions, MakeApp

REFUSED = "550 mailbox unavailable"


@pytest.fixture(autouse=True)
def leave_no_rows(app: Flask) -> Iterator[None]:
    """Rows left due here would be published by a later test's relay pass."""
    yield
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM email_events"))
        db.session.remove()


def failed_events(user_id: int, n: int, attempts: int = 6) -> list[str]:
    ids = add_events(user_id, n)
    for event_id in ids:
        put_in_state(
            event_id, EmailStatus.FAILED, due_in=None, attempts=attempts, last_error=REFUSED
        )
    return ids


def written_ago(event_id: str, minutes: int) -> None:
    db.session.execute(
        text(
            "UPDATE email_events SET created_at = now() - make_interval(mins => :m) WHERE id = :id"
        ),
        {"m": minutes, "id": event_id},
    )
    db.session.commit()


# --- flask outbox list ---------------------------------------------------------------


@pytest.mark.usefixtures("no_rows")
def test_list_shows_failed_emails_of_every_user_with_reason_age_and_attempts(
    ctx: Flask, auth: AuthActions
) -> None:
    ana, bea = auth.create_user("Ana"), auth.create_user("Bea")
    (old,) = failed_events(ana.id, 1)
    (new,) = failed_events(bea.id, 1)
    written_ago(old, 90)
    done = ctx.test_cli_runner().invoke(args=["outbox", "list", "--status", "failed"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0].startswith(old) and "age 1h" in lines[0] and ana.email in lines[0]
    assert lines[1].startswith(new) and bea.email in lines[1]
    assert "attempts 6" in lines[0] and REFUSED in lines[0]
    assert lines[-1] == "2 failed email(s)"


@pytest.mark.usefixtures("no_rows")
def test_list_older_than_keeps_only_the_old_ones(ctx: Flask, user: Account) -> None:
    old, recent = failed_events(user.id, 2)
    written_ago(old, 30)
    done = ctx.test_cli_runner().invoke(args=["outbox", "list", "--older-than", "10m"])
    assert done.exit_code == 0, done.output
    assert old in done.output and recent not in done.output


@pytest.mark.usefixtures("no_rows")
def test_list_pending_ones(ctx: Flask, user: Account) -> None:
    (pending,) = add_events(user.id, 1)
    done = ctx.test_cli_runner().invoke(args=["outbox", "list", "--status", "pending"])
    assert pending in done.output and "1 pending email(s)" in done.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "ten minutes"], "neither an age like 10m"),
        (["--status", "sent"], "Invalid value for '--status'"),
    ],
)
def test_list_refuses_bad_options(ctx: Flask, args: list[str], message: str) -> None:
    done = ctx.test_cli_runner().invoke(args=["outbox", "list", *args])
    assert done.exit_code == 2
    assert message in done.output


# --- flask outbox retry --------------------------------------------------------------


@pytest.mark.usefixtures("no_rows")
def test_retry_resends_failed_ones_since_a_time_once(
    ctx: Flask, user: Account, queue: EmailQueue
) -> None:
    old, *recent = failed_events(user.id, 3)
    written_ago(old, 120)
    runner = ctx.test_cli_runner()
    done = runner.invoke(args=["outbox", "retry", "--status", "failed", "--since", "1h"])
    assert done.exit_code == 0, done.output
    assert "2 failed email(s) retried: queued 2" in done.output
    assert statuses([old, *recent]) == ["failed", "queued", "queued"]
    assert sorted(queue.event_ids()) == sorted(recent)
    # Through the user's own resend: a fresh retry budget, attempt numbers going on.
    assert row(recent[0]).retry_budget_start == 6

    again = runner.invoke(args=["outbox", "retry", "--status", "failed", "--since", "1h"])
    assert again.exit_code == 0, again.output
    assert "0 failed email(s) retried" in again.output
    assert queue.length() == 2  # nothing published twice


@pytest.mark.usefixtures("no_rows")
def test_retry_with_the_broker_down_leaves_them_pending_for_the_relay(
    make_app: MakeApp, outbox_database_url: str, user: Account
) -> None:
    down = make_app(
        SQLALCHEMY_DATABASE_URI=outbox_database_url,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    with down.app_context():
        ids = failed_events(user.id, 2)
        done = down.test_cli_runner().invoke(args=["outbox", "retry"])
        assert done.exit_code == 0, done.output
        assert "broker-down 2" in done.output
        assert statuses(ids) == ["pending", "pending"]
        db.session.remove()


# --- the admin page --------------------------------------------------------------------


@pytest.fixture
def admin_client(app: Flask, auth: AuthActions) -> AuthActions:
    admin = auth.new_user("Olga")
    with app.app_context():
        done = app.test_cli_runner().invoke(args=["user", "make-admin", admin.email])
    assert done.exit_code == 0, done.output
    return auth


@pytest.mark.usefixtures("no_rows")
def test_the_admin_page_lists_every_users_failed_emails(
    app: Flask, admin_client: AuthActions, auth: AuthActions
) -> None:
    other = auth.create_user("Bea")
    with app.app_context():
        (event_id,) = failed_events(other.id, 1, attempts=4)
        written_ago(event_id, 5)
    page = admin_client.client.get("/admin/emails/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert other.email in html and REFUSED in html and event_id in html
    assert "5 minutos" in html
    assert "<td>4</td>" in html


@pytest.mark.usefixtures("no_rows")
def test_the_admin_page_shows_uncertain_ones_on_their_tab(
    app: Flask, admin_client: AuthActions, user: Account
) -> None:
    with app.app_context():
        (event_id,) = add_events(user.id, 1)
        put_in_state(event_id, EmailStatus.UNCERTAIN, due_in=None, last_error="lost after DATA")
    html = admin_client.client.get("/admin/emails/?status=uncertain").get_data(as_text=True)
    assert event_id in html and "lost after DATA" in html
    assert event_id not in admin_client.client.get("/admin/emails/").get_data(as_text=True)


def test_a_user_who_is_not_admin_gets_a_404(auth: AuthActions) -> None:
    auth.new_user()
    assert auth.client.get("/admin/emails/").status_code == 404


def test_a_visitor_is_sent_to_log_in(client: object, auth: AuthActions) -> None:
    reply = auth.client.get("/admin/emails/")
    assert reply.status_code == 302 and "/auth/login" in reply.headers["Location"]


def test_admin_emails_setting_makes_an_admin(
    make_app: MakeApp, outbox_database_url: str, auth: AuthActions
) -> None:
    account = auth.create_user()
    app = make_app(
        SQLALCHEMY_DATABASE_URI=outbox_database_url, ADMIN_EMAILS=frozenset({account.email})
    )
    admin = auth.on(app)
    admin.login_as(account)
    assert admin.client.get("/admin/emails/").status_code == 200


def test_make_admin_revoke_and_unknown_email(app: Flask, auth: AuthActions) -> None:
    account = auth.new_user()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "make-admin", account.email]).exit_code == 0
    assert auth.client.get("/admin/emails/").status_code == 200
    revoked = runner.invoke(args=["user", "make-admin", "--revoke", account.email.upper()])
    assert "is no longer an admin" in revoked.output
    assert auth.client.get("/admin/emails/").status_code == 404
    unknown = runner.invoke(args=["user", "make-admin", "nobody@example.com"])
    assert unknown.exit_code == 1 and "no user with the email" in unknown.output


# --- the outbox gauges -------------------------------------------------------------------


@pytest.mark.usefixtures("no_rows")
def test_outbox_gauges_count_each_state_and_age_the_oldest(ctx: Flask, user: Account) -> None:
    registry = CollectorRegistry()
    registry.register(OutboxCollector(ctx))
    queued = add_events(user.id, 2)
    for event_id in queued:
        put_in_state(event_id, EmailStatus.QUEUED, due_in=60)
    written_ago(queued[0], 10)
    failed_events(user.id, 1)
    exposed = generate_latest(registry).decode()
    assert "bookshelf_outbox_up 1.0" in exposed
    assert 'bookshelf_outbox_events{status="queued"} 2.0' in exposed
    assert 'bookshelf_outbox_events{status="failed"} 1.0' in exposed
    assert 'bookshelf_outbox_events{status="pending"} 0.0' in exposed
    assert 'status="sent"' not in exposed
    age = next(
        line
        for line in exposed.splitlines()
        if line.startswith('bookshelf_outbox_oldest_event_age_seconds{status="queued"}')
    )
    assert 600 <= float(age.split()[-1]) < 700


@pytest.mark.usefixtures("no_rows")
def test_held_emails_are_counted_apart_not_as_late_pending_ones(ctx: Flask, user: Account) -> None:
    registry = CollectorRegistry()
    registry.register(OutboxCollector(ctx))
    held, _pending = add_events(user.id, 2)
    db.session.execute(
        text("UPDATE email_events SET hold_reason = 'unverified', due_at = NULL WHERE id = :id"),
        {"id": held},
    )
    db.session.commit()
    written_ago(held, 60)
    exposed = generate_latest(registry).decode()
    assert 'bookshelf_outbox_events{status="pending"} 1.0' in exposed
    assert "bookshelf_outbox_held_events 1.0" in exposed
    age = next(
        line
        for line in exposed.splitlines()
        if line.startswith('bookshelf_outbox_oldest_event_age_seconds{status="pending"}')
    )
    assert float(age.split()[-1]) < 60  # the hour-old held one does not count


def test_outbox_gauges_say_when_the_database_is_unreachable(make_app: MakeApp) -> None:
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg2://x@127.0.0.1:{free_port()}/x")
    registry = CollectorRegistry()
    registry.register(OutboxCollector(app))
    exposed = generate_latest(registry).decode()
    assert "bookshelf_outbox_up 0.0" in exposed
    assert "bookshelf_outbox_events" not in exposed


def test_only_an_admin_sees_the_link_to_the_page(app: Flask, auth: AuthActions) -> None:
    account = auth.new_user()
    assert 'href="/admin/emails/"' not in auth.client.get("/").get_data(as_text=True)
    app.test_cli_runner().invoke(args=["user", "make-admin", account.email])
    assert 'href="/admin/emails/"' in auth.client.get("/").get_data(as_text=True)
