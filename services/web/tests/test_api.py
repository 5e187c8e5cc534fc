"""The JSON API: token and session auth, CRUD, IDOR, pagination, error shapes."""

import re
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bookshelf import tokens
from bookshelf.extensions import db
from bookshelf.models import Book, User
from services.web.tests.support import spec_validator

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "0-441-17271-7", "year": 1965}


@pytest.fixture
def token(app: Flask, auth: Any) -> str:
    """A fresh user's API token (the client itself stays logged out)."""
    account = auth.create_user()
    with app.app_context():
        return tokens.regenerate(db.session.get(User, account.id))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "fields"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["fields"], dict)
    return body


def test_create_get_list_delete_with_a_token(app: Flask, client: FlaskClient, token: str) -> None:
    created = client.post("/api/v1/books", json=BOOK, headers=bearer(token))
    assert created.status_code == 201
    book = created.get_json()
    assert book["isbn"] == "0441172717" and book["year"] == 1965
    assert book["notification"]["status"] == "pending"
    assert created.headers["Location"] == f"/api/v1/books/{book['id']}"
    assert "Set-Cookie" not in created.headers  # token calls open no session

    fetched = client.get(f"/api/v1/books/{book['id']}", headers=bearer(token)).get_json()
    assert fetched["title"] == "Dune" and "notification" not in fetched
    listing = client.get("/api/v1/books", headers=bearer(token)).get_json()
    assert [item["id"] for item in listing["items"]] == [book["id"]]
    assert listing["total"] == 1 and listing["page"] == 1

    deleted = client.delete(f"/api/v1/books/{book['id']}", headers=bearer(token))
    assert deleted.status_code == 200
    assert deleted.get_json()["deleted"] == book["id"]
    assert deleted.get_json()["notification"]["status"] == "pending"
    assert_error_shape(client.get(f"/api/v1/books/{book['id']}", headers=bearer(token)), 404)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer bks_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
    ids=["missing", "invalid", "empty", "wrong-scheme", "huge"],
)
def test_bad_or_missing_credentials_are_401(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/books", headers=headers)
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_regenerated_token_replaces_the_old_one(
    app: Flask, client: FlaskClient, token: str
) -> None:
    with app.app_context():
        user = db.session.scalar(
            select(User).where(User.api_token_hash == tokens.token_hash(token))
        )
        new_token = tokens.regenerate(user)
    assert_error_shape(client.get("/api/v1/books", headers=bearer(token)), 401)
    assert client.get("/api/v1/books", headers=bearer(new_token)).status_code == 200


def test_session_auth_works_for_the_browser(client: FlaskClient, auth: Any) -> None:
    auth.new_user()
    assert client.post("/api/v1/books", json=BOOK).status_code == 201
    assert client.get("/api/v1/books").get_json()["total"] == 1


def test_another_users_book_is_404_and_intact(
    app: Flask, client: FlaskClient, token: str, auth: Any
) -> None:
    owner = auth.create_user()
    with app.app_context():
        book = Book(owner_id=owner.id, title="Private", author="Someone")
        db.session.add(book)
        db.session.commit()
        book_id = book.id
    assert_error_shape(client.get(f"/api/v1/books/{book_id}", headers=bearer(token)), 404)
    assert_error_shape(client.delete(f"/api/v1/books/{book_id}", headers=bearer(token)), 404)
    with app.app_context():
        assert db.session.get(Book, book_id) is not None


def test_pagination(client: FlaskClient, token: str) -> None:
    for n in range(5):
        client.post("/api/v1/books", json={"title": f"T{n}", "author": "A"}, headers=bearer(token))
    page = client.get("/api/v1/books?page=2&per_page=2", headers=bearer(token)).get_json()
    assert [item["title"] for item in page["items"]] == ["T2", "T3"]
    assert (page["total"], page["pages"], page["page"], page["per_page"]) == (5, 3, 2, 2)
    beyond = client.get("/api/v1/books?page=9&per_page=2", headers=bearer(token)).get_json()
    assert beyond["items"] == []


@pytest.mark.parametrize("query", ["page=0", "page=abc", "per_page=101", "per_page=-1", "page=1e3"])
def test_bad_pagination_is_422(client: FlaskClient, token: str, query: str) -> None:
    body = assert_error_shape(client.get(f"/api/v1/books?{query}", headers=bearer(token)), 422)
    assert set(body["fields"]) == {query.split("=")[0]}


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"title", "author"}),
        ({**BOOK, "title": ""}, {"title"}),
        ({**BOOK, "title": "a\nb"}, {"title"}),
        ({**BOOK, "author": None}, {"author"}),
        ({**BOOK, "author": 7}, {"author"}),
        ({**BOOK, "isbn": "0-441-17271-8"}, {"isbn"}),
        ({**BOOK, "year": "nineteen"}, {"year"}),
        ({**BOOK, "year": 1965.5}, {"year"}),
        ({**BOOK, "year": True}, {"year"}),
        ({**BOOK, "notes": "n" * 2001}, {"notes"}),
        ({**BOOK, "owner_id": 1}, {"owner_id"}),
        (
            {"title": "", "author": "", "isbn": "1", "year": 0, "notes": 1},
            {"title", "author", "isbn", "year", "notes"},
        ),
    ],
)
def test_validation_errors_are_422_with_fields(
    app: Flask, client: FlaskClient, token: str, payload: dict[str, Any], fields: set[str]
) -> None:
    body = assert_error_shape(
        client.post("/api/v1/books", json=payload, headers=bearer(token)), 422
    )
    assert set(body["fields"]) == fields
    assert client.get("/api/v1/books", headers=bearer(token)).get_json()["total"] == 0


def test_malformed_json_is_400(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/api/v1/books", data='{"title": ', content_type="application/json", headers=bearer(token)
    )
    assert_error_shape(response, 400)


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "3"])
def test_json_that_is_not_an_object_is_422(client: FlaskClient, token: str, body: str) -> None:
    response = client.post(
        "/api/v1/books", data=body, content_type="application/json", headers=bearer(token)
    )
    assert_error_shape(response, 422)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(
    client: FlaskClient, token: str, content_type: str | None
) -> None:
    response = client.post(
        "/api/v1/books", data="title=Dune", content_type=content_type, headers=bearer(token)
    )
    assert_error_shape(response, 415)


def test_too_large_is_413(make_app: Any, auth: Any) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    account = auth.create_user()
    with app.app_context():
        token = tokens.regenerate(db.session.get(User, account.id))
    body = assert_error_shape(
        app.test_client().post(
            "/api/v1/books",
            json={"title": "x", "author": "y", "notes": "n" * 2000},
            headers=bearer(token),
        ),
        413,
    )
    assert "1024 B" in body["error"]


def test_unknown_route_and_method_are_json(client: FlaskClient, token: str) -> None:
    assert_error_shape(client.get("/api/v1/nothing-here", headers=bearer(token)), 404)
    assert_error_shape(client.get("/api/v1/books/abc", headers=bearer(token)), 404)
    response = client.put("/api/v1/books", json=BOOK, headers=bearer(token))
    assert_error_shape(response, 405)
    assert "POST" in response.headers["Allow"]


def test_english_errors_with_accept_language(client: FlaskClient) -> None:
    body = client.get("/api/v1/books", headers={"Accept-Language": "en"}).get_json()
    assert body["error"] == "Log in or send an API token."


def test_openapi_is_served_and_matches_the_routes(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200
    spec = yaml.safe_load(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    documented = {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served


@pytest.mark.parametrize(
    ("raw", "status", "fields"),
    [
        ('{"title": "a\\ud800", "author": "b"}', 422, {"title"}),
        ('{"title": "t", "author": "b", "notes": "\\udfff"}', 422, {"notes"}),
        ('{"title": "t\\u0000", "author": "b"}', 422, {"title"}),
        ('{"title": "t", "author": "b", "year": 1e400}', 422, {"year"}),
        ('{"title": "t", "author": "b", "year": NaN}', 422, {"year"}),
        ("[" * 50_000 + "]" * 50_000, 400, set()),
    ],
    ids=["surrogate-title", "surrogate-notes", "nul", "huge-float", "nan", "deep-nesting"],
)
def test_hostile_json_is_refused_cleanly(
    client: FlaskClient, token: str, raw: str, status: int, fields: set[str]
) -> None:
    response = client.post(
        "/api/v1/books", data=raw, content_type="application/json", headers=bearer(token)
    )
    body = assert_error_shape(response, status)
    assert set(body["fields"]) == fields


def test_responses_match_the_openapi_schemas(client: FlaskClient, token: str) -> None:
    created = client.post("/api/v1/books", json=BOOK, headers=bearer(token)).get_json()
    spec_validator("BookCreated").validate(created)
    one = client.get(f"/api/v1/books/{created['id']}", headers=bearer(token)).get_json()
    spec_validator("Book").validate(one)
    spec_validator("BookPage").validate(
        client.get("/api/v1/books", headers=bearer(token)).get_json()
    )
    spec_validator("Error").validate(client.get("/api/v1/books").get_json())
    deleted = client.delete(f"/api/v1/books/{created['id']}", headers=bearer(token)).get_json()
    spec_validator("BookDeleted").validate(deleted)
    invalid = {"title": "", "author": "x" * 201, "isbn": "1"}
    assert not spec_validator("BookInput").is_valid(invalid)
    assert spec_validator("BookInput").is_valid(BOOK)
