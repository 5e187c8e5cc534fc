"""Email preference and time zone: the account page, sign-up's browser zone, what a
book change writes for each preference, and dates labelled with the user's zone."""

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.accounts.models import User
from bookshelf.accounts.preferences import local_datetime
from bookshelf.extensions import db
from bookshelf.library.activity import BookActivity
from services.web.tests.support import (
    AuthActions,
    assert_error_shape,
    books_of,
    events_of,
    spec_validator,
    user_by_email,
)

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "", "year": "", "notes": ""}


def user(app: Flask, user_id: int) -> User:
    with app.app_context():
        found = db.session.get(User, user_id)
        assert found is not None
        return found


def activity_of(app: Flask, owner_id: int) -> list[BookActivity]:
    with app.app_context():
        query = select(BookActivity).where(BookActivity.owner_id == owner_id)
        return list(db.session.scalars(query))


def test_defaults_are_each_email_and_utc(app: Flask, auth: AuthActions) -> None:
    me = auth.create_user()
    assert (user(app, me.id).email_preference, user(app, me.id).timezone) == ("each", "UTC")


def test_sign_up_keeps_the_browsers_zone_or_utc(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    for sent, kept in (("America/Bogota", "America/Bogota"), ("Mars/Olympus", "UTC"), ("", "UTC")):
        email = f"tz-{kept.replace('/', '-')}-{len(sent)}@example.com"
        response = client.post(
            "/auth/register",
            data={"name": "Ana", "email": email, "password": "correct horse", "timezone": sent},
        )
        assert response.status_code == 302
        found = user_by_email(app, email)
        assert found is not None and found.timezone == kept
        client.post("/auth/logout")


def test_account_page_saves_both(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    me = auth.new_user()
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'value="digest"' in page and "Europe/Madrid" in page and "timezone.js" in page
    response = client.post(
        "/auth/account/preferences",
        data={"email_preference": "digest", "timezone": "Europe/Madrid"},
    )
    assert response.status_code == 302
    saved = user(app, me.id)
    assert (saved.email_preference, saved.timezone) == ("digest", "Europe/Madrid")


@pytest.mark.parametrize(
    "form",
    [
        {"email_preference": "weekly", "timezone": "Europe/Madrid"},
        {"email_preference": "none", "timezone": "Europe/Nowhere"},
        {"email_preference": "none", "timezone": ""},
        {"timezone": "UTC"},
    ],
)
def test_invalid_preferences_store_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, form: dict[str, str]
) -> None:
    me = auth.new_user()
    assert client.post("/auth/account/preferences", data=form).status_code == 422
    saved = user(app, me.id)
    assert (saved.email_preference, saved.timezone) == ("each", "UTC")


def _set(app: Flask, user_id: int, preference: str) -> None:
    with app.app_context():
        found = db.session.get(User, user_id)
        assert found is not None
        found.email_preference = preference
        db.session.commit()


def test_each_writes_one_email_per_change(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    client.post("/books/new", data=BOOK)
    [book] = books_of(app, me.id)
    client.post(f"/books/{book.id}/delete")
    assert sorted(event.kind for event in events_of(app, me.id)) == ["added", "deleted"]
    assert activity_of(app, me.id) == []


def test_digest_writes_activity_and_no_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    _set(app, me.id, "digest")
    response = client.post("/books/new", data=BOOK, follow_redirects=True)
    assert "Sigue su correo" not in response.get_data(as_text=True)
    [book] = books_of(app, me.id)
    client.post(f"/books/{book.id}/delete")
    assert events_of(app, me.id) == []
    assert [(row.kind, row.title) for row in activity_of(app, me.id)] == [
        ("added", "Dune"),
        ("deleted", "Dune"),
    ]


def test_none_writes_neither_and_the_api_says_so(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.create_user()
    token = auth.api_token(me)
    _set(app, me.id, "none")
    created = client.post(
        "/api/v1/books",
        json={"title": "Dune", "author": "Frank Herbert"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201 and created.get_json()["notification"] is None
    assert events_of(app, me.id) == [] and activity_of(app, me.id) == []


def test_dates_are_shown_in_the_users_zone_with_its_name(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    with app.app_context():
        found = db.session.get(User, me.id)
        assert found is not None
        found.timezone = "America/Bogota"
        db.session.commit()
    moment = datetime(2026, 1, 1, 3, 30, tzinfo=UTC)  # 31 Dec 2025, 22:30 in Bogotá
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from flask_login import login_user

        login_user(db.session.get(User, me.id))
        shown = local_datetime(moment, "short")
    assert shown == "31/12/25, 22:30 (America/Bogota)"  # the user stored es
    client.post("/books/new", data=BOOK)
    [book] = books_of(app, me.id)
    assert "(America/Bogota)" in client.get(f"/books/{book.id}").get_data(as_text=True)


def test_api_reads_and_changes_the_preferences(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.create_user()
    headers = {"Authorization": f"Bearer {auth.api_token(me)}"}
    shown = client.get("/api/v1/account", headers=headers)
    spec_validator("Account").validate(shown.get_json())
    assert shown.get_json()["email_preference"] == "each"
    changed = client.patch(
        "/api/v1/account", json={"email_preference": "none", "timezone": "Asia/Tokyo"},
        headers=headers,
    )  # fmt: skip
    assert changed.status_code == 200
    assert (changed.get_json()["email_preference"], changed.get_json()["timezone"]) == (
        "none",
        "Asia/Tokyo",
    )
    for body in ({"timezone": "Nowhere"}, {"email_preference": "weekly"}, {"name": "X"}):
        assert_error_shape(client.patch("/api/v1/account", json=body, headers=headers), 422)
    saved = user(app, me.id)
    assert (saved.email_preference, saved.timezone) == ("none", "Asia/Tokyo")
