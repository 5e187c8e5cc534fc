"""The limits (bookshelf.throttle), counted in a real broker shared by every app of a test
as by every gunicorn worker: email pace (deferred, then refused), the daily cap, the
per-account log-in brake and the per-token API limit. Small limits, so few requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from bookshelf.throttle import login_brake
from devstack.broker import BrokerServer
from services.web.tests.support import (
    PASSWORD,
    AuthActions,
    MakeApp,
    assert_error_shape,
    bearer,
    books_of,
    events_of,
    served_openapi,
    spec_validator,
)

BOOK = {"title": "Dune", "author": "Frank Herbert"}
HOUR = 3600


@pytest.fixture
def limited(make_app: MakeApp, broker: BrokerServer) -> Any:
    """An app whose limits live in the real broker, with these settings."""

    def make(**settings: Any) -> Flask:
        return make_app(RATELIMIT_STORAGE_URI=broker.url, **settings)

    return make


def waits(app: Flask, owner_id: int) -> list[float]:
    """Seconds until each of the owner's emails is due, oldest first."""
    now = datetime.now(UTC)
    events = sorted(events_of(app, owner_id), key=lambda event: event.created_at)
    return [(event.due_at - now).total_seconds() for event in events if event.due_at]


def test_emails_beyond_the_pace_wait_and_past_the_longest_wait_are_refused(
    limited: Any, auth: AuthActions
) -> None:
    """Burst 3, then one an hour, deferring two hours at most: three at once, two
    deferred (books saved), the sixth change refused with nothing stored."""
    app = limited(EMAIL_BURST=3, EMAIL_PER_HOUR=1, EMAIL_MAX_DELAY_SECONDS=2 * HOUR)
    client = app.test_client()
    token = auth.on(app).api_token(account := auth.on(app).create_user())
    for _n in range(5):
        assert client.post("/api/v1/books", json=BOOK, headers=bearer(token)).status_code == 201
    due = waits(app, account.id)
    assert len(due) == 5
    assert all(seconds <= 1 for seconds in due[:3])
    assert HOUR - 60 < due[3] <= HOUR and 2 * HOUR - 60 < due[4] <= 2 * HOUR
    holds = [event.hold_reason for event in events_of(app, account.id)]
    assert sorted(holds, key=str) == [None, None, None, "rate_limited", "rate_limited"]
    listed = client.get("/api/v1/emails", headers=bearer(token)).get_json()["items"]
    assert sorted((item["hold_reason"] for item in listed), key=str) == sorted(holds, key=str)

    refused = client.post("/api/v1/books", json=BOOK, headers=bearer(token))
    body = assert_error_shape(refused, 429)
    assert "Nothing was changed" in body["error"] or "No se ha cambiado nada" in body["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= HOUR
    assert len(books_of(app, account.id)) == 5 and len(events_of(app, account.id)) == 5
    # A delete sends an email too: refused the same way, the book stays.
    book_id = books_of(app, account.id)[0].id
    gone = client.delete(f"/api/v1/books/{book_id}", headers=bearer(token))
    assert_error_shape(gone, 429)
    assert len(books_of(app, account.id)) == 5


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("es", "Demasiados cambios de libros en poco tiempo"),
        ("en", "Too many book changes in a short time"),
    ],
)
def test_the_ui_refusal_is_a_page_in_the_visitors_language(
    limited: Any, auth: AuthActions, language: str, message: str
) -> None:
    app = limited(EMAIL_BURST=1, EMAIL_PER_HOUR=1, EMAIL_MAX_DELAY_SECONDS=0)
    client = app.test_client()
    auth.on(app, client).new_user(locale=language)
    headers = {"Accept-Language": language}
    assert client.post("/books/new", data=BOOK, headers=headers).status_code == 302
    refused = client.post("/books/new", data=BOOK, headers=headers)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert refused.headers["Cache-Control"] == "no-store"
    assert message in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0


def test_the_pace_is_per_account(limited: Any, auth: AuthActions) -> None:
    app = limited(EMAIL_BURST=1, EMAIL_PER_HOUR=1, EMAIL_MAX_DELAY_SECONDS=0)
    client = app.test_client()
    first, second = (auth.on(app).api_token(auth.on(app).create_user()) for _n in range(2))
    assert client.post("/api/v1/books", json=BOOK, headers=bearer(first)).status_code == 201
    assert client.post("/api/v1/books", json=BOOK, headers=bearer(first)).status_code == 429
    assert client.post("/api/v1/books", json=BOOK, headers=bearer(second)).status_code == 201


def test_the_daily_cap_refuses_even_what_the_pace_allows(limited: Any, auth: AuthActions) -> None:
    app = limited(EMAIL_DAILY_LIMIT="2 per day")
    client = app.test_client()
    token = auth.on(app).api_token(auth.on(app).create_user())
    for _n in range(2):
        assert client.post("/api/v1/books", json=BOOK, headers=bearer(token)).status_code == 201
    refused = client.post("/api/v1/books", json=BOOK, headers=bearer(token))
    assert_error_shape(refused, 429)
    assert int(refused.headers["Retry-After"]) > HOUR  # a day's window


def test_a_broker_that_does_not_answer_limits_nothing(make_app: MakeApp, auth: AuthActions) -> None:
    """The default test config points the storage at a closed port: changes still go."""
    app = make_app(EMAIL_BURST=1, EMAIL_PER_HOUR=1, EMAIL_MAX_DELAY_SECONDS=0)
    client = app.test_client()
    token = auth.on(app).api_token(auth.on(app).create_user())
    for _n in range(3):
        assert client.post("/api/v1/books", json=BOOK, headers=bearer(token)).status_code == 201


def login_from(app: Flask, address: str, email: str, password: str = PASSWORD) -> int:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/auth/login", data={"email": email, "password": password}).status_code


def test_failed_logins_brake_the_account_from_that_address(limited: Any, auth: AuthActions) -> None:
    app = limited(LOGIN_FAILURE_LIMITS="3 per minute", LOGIN_ACCOUNT_FAILURE_LIMITS="5 per hour")
    actions = auth.on(app)
    victim, bystander = actions.create_user(), actions.create_user()
    guesser, owner = "192.0.2.10", "192.0.2.20"
    for _n in range(3):
        assert login_from(app, guesser, victim.email, "wrong password") == 422
    # Locked for that address: even the right password is refused, with a way out.
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = guesser
    locked = client.post("/auth/login", data={"email": victim.email.upper(), "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "restablecer tu contraseña" in locked.get_data(as_text=True)
    assert login_from(app, guesser, bystander.email) == 302  # other accounts: untouched
    assert login_from(app, owner, victim.email) == 302  # the owner, elsewhere: let in


def test_guesses_from_many_addresses_lock_the_account_until_a_reset(
    limited: Any, auth: AuthActions
) -> None:
    app = limited(LOGIN_FAILURE_LIMITS="3 per minute", LOGIN_ACCOUNT_FAILURE_LIMITS="5 per hour")
    victim = auth.on(app).create_user()
    for n in range(5):
        assert login_from(app, f"198.51.100.{n}", victim.email, "wrong password") == 422
    assert login_from(app, "192.0.2.20", victim.email) == 429
    # A password reset clears the brake (its caller: login_brake.clear).
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.20"}):
        login_brake.clear(victim.email)
    assert login_from(app, "192.0.2.20", victim.email) == 302


def test_the_api_limit_counts_per_token(limited: Any, auth: AuthActions) -> None:
    app = limited(API_RATE_LIMIT="3 per minute")
    client = app.test_client()
    first, second = (auth.on(app).api_token(auth.on(app).create_user()) for _n in range(2))
    for remaining in (2, 1, 0):
        answer = client.get("/api/v1/books", headers=bearer(first))
        assert answer.status_code == 200
        assert answer.headers["X-RateLimit-Limit"] == "3"
        assert answer.headers["X-RateLimit-Remaining"] == str(remaining)
    refused = client.get("/api/v1/books", headers=bearer(first))
    assert_error_shape(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert client.get("/api/v1/books", headers=bearer(second)).status_code == 200


def test_the_status_page_says_why_a_deferred_email_waits(limited: Any, auth: AuthActions) -> None:
    app = limited(EMAIL_BURST=1, EMAIL_PER_HOUR=1, EMAIL_MAX_DELAY_SECONDS=2 * HOUR)
    client = app.test_client()
    auth.on(app, client).new_user()
    for _n in range(2):
        assert client.post("/books/new", data=BOOK).status_code == 302
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count("En espera: muchos correos en poco tiempo") == 1


def test_every_operation_documents_its_429(limited: Any) -> None:
    spec = served_openapi()
    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "delete"}
    ]
    assert operations
    for path, method, operation in operations:
        assert operation["responses"].get("429") == {
            "$ref": "#/components/responses/TooManyRequests"
        }, (method, path)
    headers = spec["components"]["responses"]["TooManyRequests"]["headers"]
    assert {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(headers)


def test_a_429_is_the_documented_error(limited: Any, auth: AuthActions) -> None:
    app = limited(API_RATE_LIMIT="1 per minute")
    client = app.test_client()
    token = auth.on(app).api_token(auth.on(app).create_user())
    client.get("/api/v1/books", headers=bearer(token))
    refused = client.get("/api/v1/books", headers=bearer(token))
    assert refused.status_code == 429
    spec_validator("Error").validate(refused.get_json())
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_send_again_takes_a_slot_now_or_is_refused(limited: Any, auth: AuthActions) -> None:
    """A failed email sent again counts like a new one, and is never deferred."""
    from sqlalchemy import update

    from bookshelf.extensions import db
    from bookshelf.outbox.models import EmailEvent

    app = limited(EMAIL_BURST=1, EMAIL_PER_HOUR=1, EMAIL_MAX_DELAY_SECONDS=2 * HOUR)
    client = app.test_client()
    account = auth.on(app).create_user()
    token = auth.on(app).api_token(account)
    created = client.post("/api/v1/books", json=BOOK, headers=bearer(token)).get_json()
    event_id = created["notification"]["event_id"]
    with app.app_context():
        db.session.execute(
            update(EmailEvent)
            .where(EmailEvent.id == event_id)
            .values(status="failed", due_at=None, last_error="550 no such user")
        )
        db.session.commit()
    refused = client.post(f"/api/v1/emails/{event_id}/resend", headers=bearer(token))
    assert_error_shape(refused, 429)
    [event] = events_of(app, account.id)
    assert (event.status, event.hold_reason) == ("failed", None)  # unchanged, not deferred
