"""An edit's email (issue 12): only for a user who asked for one, with the `each`
preference; one outbox row, in the edit's transaction, held like any book email."""

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from services.web.tests.support import (
    Account,
    AuthActions,
    assert_error_shape,
    events_of,
    insert_book,
    spec_validator,
)

EDITED = {
    "title": "Dune Messiah",
    "author": "Frank Herbert",
    "isbn": "",
    "year": "1969",
    "notes": "",
}


def _prefer(app: Flask, account: Account, *, on_edit: bool, preference: str = "each") -> None:
    with app.app_context():
        user = db.session.get(User, account.id)
        assert user is not None
        user.email_on_edit, user.email_preference = on_edit, preference
        db.session.commit()


def test_by_default_an_edit_records_no_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    book_id = insert_book(app, me.id)
    response = client.post(f"/books/{book_id}/edit", data=EDITED, follow_redirects=True)
    assert "se guardó" in response.text and "Seguir su correo" not in response.text
    assert events_of(app, me.id) == []


def test_with_the_preference_on_an_edit_records_exactly_one_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    _prefer(app, me, on_edit=True)
    book_id = insert_book(app, me.id)
    response = client.post(f"/books/{book_id}/edit", data=EDITED, follow_redirects=True)
    assert "Seguir su correo de confirmación" in response.get_data(as_text=True)
    [event] = events_of(app, me.id)
    assert (event.kind, event.status, event.hold_reason) == ("edited", "pending", None)
    assert event.due_at is not None
    assert (event.payload["book_id"], event.payload["title"]) == (book_id, "Dune Messiah")
    assert event.payload["year"] == 1969


@pytest.mark.parametrize("preference", ["digest", "none"])
def test_the_preference_applies_only_to_each(
    app: Flask, client: FlaskClient, auth: AuthActions, preference: str
) -> None:
    me = auth.new_user()
    _prefer(app, me, on_edit=True, preference=preference)
    book_id = insert_book(app, me.id)
    assert client.post(f"/books/{book_id}/edit", data=EDITED).status_code == 302
    assert events_of(app, me.id) == []


def test_an_unverified_address_holds_the_edit_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.login_as(auth.create_user(verified=False))
    _prefer(app, me, on_edit=True)
    book_id = insert_book(app, me.id)
    client.post(f"/books/{book_id}/edit", data=EDITED)
    [event] = events_of(app, me.id)
    assert (event.kind, event.hold_reason, event.due_at) == ("edited", "unverified", None)


def test_an_invalid_edit_records_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    _prefer(app, me, on_edit=True)
    book_id = insert_book(app, me.id)
    assert client.post(f"/books/{book_id}/edit", data={**EDITED, "title": ""}).status_code == 422
    assert events_of(app, me.id) == []


def test_api_patch_says_where_the_edit_email_is(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.create_user()
    headers = {"Authorization": f"Bearer {auth.api_token(me)}"}
    book_id = insert_book(app, me.id)
    quiet = client.patch(f"/api/v1/books/{book_id}", json={"year": 1965}, headers=headers)
    assert quiet.status_code == 200 and quiet.get_json()["notification"] is None
    spec_validator("BookCreated").validate(quiet.get_json())
    _prefer(app, me, on_edit=True)
    loud = client.patch(f"/api/v1/books/{book_id}", json={"title": "Dune II"}, headers=headers)
    assert loud.status_code == 200
    spec_validator("BookCreated").validate(loud.get_json())
    [event] = events_of(app, me.id)
    assert loud.get_json()["notification"] == {"event_id": event.id, "status": "pending"}
    assert (event.kind, event.payload["title"]) == ("edited", "Dune II")


def test_account_page_offers_and_saves_the_preference(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'name="email_on_edit"' in page and "cuando edite un libro" in page
    saved = client.post(
        "/auth/account/preferences",
        data={"email_preference": "each", "email_on_edit": "y", "timezone": "UTC"},
    )
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(User, me.id).email_on_edit is True  # type: ignore[union-attr]
    [checkbox] = re.findall(r"<input[^>]*email_on_edit[^>]*>", client.get("/auth/account").text)
    assert "checked" in checkbox
    client.post("/auth/account/preferences", data={"email_preference": "each", "timezone": "UTC"})
    with app.app_context():
        assert db.session.get(User, me.id).email_on_edit is False  # type: ignore[union-attr]


def test_api_reads_and_changes_the_preference(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.create_user()
    headers = {"Authorization": f"Bearer {auth.api_token(me)}"}
    shown = client.get("/api/v1/account", headers=headers).get_json()
    spec_validator("Account").validate(shown)
    assert shown["email_on_edit"] is False
    changed = client.patch("/api/v1/account", json={"email_on_edit": True}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["email_on_edit"] is True
    for bad in ("yes", 1, None):
        response = client.patch("/api/v1/account", json={"email_on_edit": bad}, headers=headers)
        assert_error_shape(response, 422)
        assert "email_on_edit" in response.get_json()["fields"]
    with app.app_context():
        assert db.session.get(User, me.id).email_on_edit is True  # type: ignore[union-attr]
