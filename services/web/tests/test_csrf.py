"""CSRF, with protection on: forms and session-cookie API writes need a token;
Bearer-token API calls do not."""

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf.extensions import db
from bookshelf.library.models import Book
from services.web.tests.support import AuthActions, MakeApp, insert_book

BOOK = {"title": "Dune", "author": "Frank Herbert"}


@pytest.fixture
def csrf_app(make_app: MakeApp) -> Flask:
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def csrf_client(csrf_app: Flask) -> FlaskClient:
    return csrf_app.test_client()


@pytest.fixture
def csrf_auth(csrf_app: Flask, csrf_client: FlaskClient, auth: AuthActions) -> AuthActions:
    return auth.on(csrf_app, csrf_client)


def page_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def book_titles(app: Flask, owner_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Book.title).where(Book.owner_id == owner_id)))


def test_form_post_without_token_is_rejected(
    csrf_app: Flask, csrf_client: FlaskClient, csrf_auth: AuthActions
) -> None:
    user = csrf_auth.new_user()
    response = csrf_client.post("/books/new", data=BOOK)
    assert response.status_code == 400
    assert "El formulario caducó" in response.get_data(as_text=True)
    assert book_titles(csrf_app, user.id) == []


def test_form_post_with_token_is_accepted(
    csrf_app: Flask, csrf_client: FlaskClient, csrf_auth: AuthActions
) -> None:
    user = csrf_auth.new_user()
    token = page_token(csrf_client, "/books/new")
    response = csrf_client.post("/books/new", data={**BOOK, "csrf_token": token})
    assert response.status_code == 302
    assert book_titles(csrf_app, user.id) == ["Dune"]


def test_register_and_delete_need_the_token(
    csrf_app: Flask, csrf_client: FlaskClient, csrf_auth: AuthActions
) -> None:
    form = {"name": "Eve", "email": "eve-csrf@example.com", "password": "long enough pw"}
    assert csrf_client.post("/auth/register", data=form).status_code == 400
    user = csrf_auth.new_user()
    book_id = insert_book(csrf_app, user.id, title="Keep me", author="A")
    assert csrf_client.post(f"/books/{book_id}/delete").status_code == 400
    assert book_titles(csrf_app, user.id) == ["Keep me"]


def test_session_api_write_needs_the_header(
    csrf_app: Flask, csrf_client: FlaskClient, csrf_auth: AuthActions
) -> None:
    user = csrf_auth.new_user()
    refused = csrf_client.post("/api/v1/books", json=BOOK)
    assert refused.status_code == 403
    assert set(refused.get_json()) == {"error", "fields"}
    assert book_titles(csrf_app, user.id) == []
    token = page_token(csrf_client, "/")
    accepted = csrf_client.post("/api/v1/books", json=BOOK, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    assert csrf_client.get("/api/v1/books").status_code == 200  # reads need no token


def test_bearer_api_write_needs_no_csrf_token(csrf_app: Flask, csrf_auth: AuthActions) -> None:
    account = csrf_auth.create_user()
    api_token = csrf_auth.api_token(account)
    response = csrf_app.test_client().post(
        "/api/v1/books", json=BOOK, headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 201
    assert book_titles(csrf_app, account.id) == ["Dune"]


def test_edit_form_and_session_patch_need_the_token(
    csrf_app: Flask, csrf_client: FlaskClient, csrf_auth: AuthActions
) -> None:
    user = csrf_auth.new_user()
    book_id = insert_book(csrf_app, user.id, title="Keep me", author="A")
    assert csrf_client.post(f"/books/{book_id}/edit", data=BOOK).status_code == 400
    assert csrf_client.patch(f"/api/v1/books/{book_id}", json={"title": "X"}).status_code == 403
    assert book_titles(csrf_app, user.id) == ["Keep me"]
    token = page_token(csrf_client, f"/books/{book_id}/edit")
    edited = csrf_client.post(f"/books/{book_id}/edit", data={**BOOK, "csrf_token": token})
    assert edited.status_code == 302
    assert book_titles(csrf_app, user.id) == ["Dune"]
