"""/api/v1/books: CRUD with a token, IDOR, pagination, validation, hostile JSON, and
every response against openapi.yaml's schemas."""

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.extensions import db
from bookshelf.library.book_input import year_max
from bookshelf.library.models import Book
from services.web.tests.support import (
    AuthActions,
    assert_error_shape,
    bearer,
    books_of,
    events_of,
    insert_book,
    spec_validator,
)

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "0-441-17271-7", "year": 1965}


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


def test_another_users_book_is_404_and_intact(
    app: Flask, client: FlaskClient, token: str, auth: AuthActions
) -> None:
    owner = auth.create_user()
    book_id = insert_book(app, owner.id, title="Private", author="Someone")
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


@pytest.mark.parametrize(
    ("field", "value", "language", "message"),
    [
        ("title", "\u200b", "en", "Must contain at least one visible character."),
        ("author", "\u2060\ufeff", "es", "Debe contener al menos un carácter visible."),
        (
            "title",
            "Libro \u202eexe.FDP",
            "en",
            "Must not contain invisible characters that change the text direction.",
        ),
        (
            "author",
            "\u2066Frank\u2069",
            "es",
            "No puede contener caracteres invisibles que cambian la dirección del texto.",
        ),
    ],
)
def test_invisible_titles_and_bidi_controls_are_refused(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    field: str,
    value: str,
    language: str,
    message: str,
) -> None:
    """Such a title would reach the email's Subject: nothing is stored, no email recorded."""
    account = auth.create_user()
    response = client.post(
        "/api/v1/books",
        json={**BOOK, field: value},
        headers={**bearer(auth.api_token(account)), "Accept-Language": language},
    )
    body = assert_error_shape(response, 422)
    assert body["fields"] == {field: message}
    assert books_of(app, account.id) == [] and events_of(app, account.id) == []


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


NEXT_YEAR = year_max()


@pytest.mark.parametrize(
    ("changes", "stored"),
    [
        ({"year": 1965}, {"year": 1965}),
        ({"year": 147.0}, {"year": 147}),  # JSON Schema's integer: so the rules' too
        ({"year": NEXT_YEAR}, {"year": NEXT_YEAR}),
        ({"year": None}, {"year": None}),
        ({"year": "1999"}, None),  # a string, however numeric
        ({"year": ""}, None),
        ({"year": 147.5}, None),
        ({"year": NEXT_YEAR + 1}, None),  # over the served `maximum`
        ({"year": 0}, None),
        ({"isbn": "0-8044-2957-x"}, {"isbn": "080442957X"}),
        ({"isbn": " 978 0 441\t17271 9 "}, {"isbn": "9780441172719"}),
        ({"isbn": ""}, {"isbn": None}),
        ({"isbn": " \t"}, {"isbn": None}),
        ({"isbn": None}, {"isbn": None}),
        ({"isbn": "978\u00a00441172719"}, None),  # outside the pattern
        ({"isbn": "978_0441172719"}, None),
        ({"isbn": "\u0660441172717"}, None),
        ({"isbn": "04411727170"}, None),
        ({"isbn": 441172717}, None),
    ],
    ids=repr,
)
def test_the_api_accepts_exactly_what_the_schema_allows(
    client: FlaskClient, token: str, changes: dict[str, Any], stored: dict[str, Any] | None
) -> None:
    """Both directions, against the document the API serves: what the BookInput schema
    allows is saved (201), what it refuses is a 422 naming the field. (An ISBN whose
    checksum is wrong matches the pattern and is refused: no pattern computes one.)"""
    payload = {"title": "Dune", "author": "Frank Herbert", **changes}
    allowed = spec_validator("BookInput").is_valid(payload)
    assert allowed == (stored is not None)
    response = client.post("/api/v1/books", json=payload, headers=bearer(token))
    if stored is None:
        assert set(assert_error_shape(response, 422)["fields"]) == set(changes)
    else:
        assert response.status_code == 201
        book = response.get_json()
        assert {name: book[name] for name in stored} == stored
        spec_validator("BookCreated").validate(book)


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


# --- PATCH: edit, with the rules of a new book and no email ----------------------------


def test_patch_changes_the_fields_sent_keeps_the_rest_and_sends_no_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.create_user()
    token = auth.api_token(account)
    book = client.post("/api/v1/books", json=BOOK, headers=bearer(token)).get_json()
    before = len(events_of(app, account.id))
    response = client.patch(
        f"/api/v1/books/{book['id']}",
        json={"title": " Dune Messiah ", "year": 1969, "notes": None, "isbn": "0-441-17269-5"},
        headers=bearer(token),
    )
    assert response.status_code == 200
    edited = response.get_json()
    assert spec_validator("Book").is_valid(edited)
    assert (edited["title"], edited["author"], edited["year"]) == (
        "Dune Messiah",
        "Frank Herbert",
        1969,
    )
    assert edited["isbn"] == "0441172695" and edited["created_at"] == book["created_at"]
    assert len(events_of(app, account.id)) == before  # an edit sends no email
    [stored] = books_of(app, account.id)
    assert (stored.title, stored.year, stored.isbn) == ("Dune Messiah", 1969, "0441172695")
    cleared = client.patch(
        f"/api/v1/books/{book['id']}", json={"isbn": None, "year": None}, headers=bearer(token)
    ).get_json()
    assert (cleared["isbn"], cleared["year"], cleared["title"]) == (None, None, "Dune Messiah")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"author": None}, "author"),
        ({"isbn": "978-0-441-17271-8"}, "isbn"),
        ({"year": "1965"}, "year"),
        ({"notes": 5}, "notes"),
        ({"colour": "red"}, "colour"),
        ({"id": 7}, "id"),
    ],
)
def test_an_invalid_patch_is_422_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, body: dict[str, Any], field: str
) -> None:
    account = auth.create_user()
    token = auth.api_token(account)
    book_id = insert_book(app, account.id, title="Dune", author="Frank Herbert", year=1965)
    response = client.patch(f"/api/v1/books/{book_id}", json=body, headers=bearer(token))
    assert field in assert_error_shape(response, 422)["fields"]
    [stored] = books_of(app, account.id)
    assert (stored.title, stored.author, stored.year, stored.isbn) == (
        "Dune",
        "Frank Herbert",
        1965,
        None,
    )


def test_patch_of_another_users_book_is_404_and_bad_bodies_are_refused(
    app: Flask, client: FlaskClient, token: str, auth: AuthActions
) -> None:
    owner = auth.create_user()
    book_id = insert_book(app, owner.id, title="Private")
    missing = client.patch(
        f"/api/v1/books/{book_id}", json={"title": "Mine"}, headers=bearer(token)
    )
    assert_error_shape(missing, 404)
    assert [b.title for b in books_of(app, owner.id)] == ["Private"]
    mine = client.post("/api/v1/books", json=BOOK, headers=bearer(token)).get_json()["id"]
    url = f"/api/v1/books/{mine}"
    assert_error_shape(client.patch(url, json=["title"], headers=bearer(token)), 422)
    assert_error_shape(
        client.patch(url, data="title=x", headers=bearer(token), content_type="text/plain"), 415
    )
    assert_error_shape(
        client.patch(url, data="{", headers=bearer(token), content_type="application/json"), 400
    )


# --- The list's search and sort --------------------------------------------------------


def test_the_list_searches_and_sorts_as_asked(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    account = auth.create_user()
    token = auth.api_token(account)
    rows = [
        ("Cien años de soledad", "García Márquez", 1967),
        ("El amor en los tiempos del cólera", "García Márquez", 1985),
        ("Ángeles", "Anónimo", 2001),
        ("Zorro", "Allende", 2005),
    ]
    for title, author, year in rows:
        insert_book(app, account.id, title=title, author=author, year=year)

    def titles(query: str) -> list[str]:
        response = client.get(f"/api/v1/books?{query}", headers=bearer(token))
        assert response.status_code == 200
        assert spec_validator("BookPage").is_valid(response.get_json())
        return [item["title"] for item in response.get_json()["items"]]

    assert titles("") == ["Ángeles", "Cien años de soledad",
                          "El amor en los tiempos del cólera", "Zorro"]  # fmt: skip
    assert titles("q=garcia+MARQUEZ&sort=year&order=desc") == [
        "El amor en los tiempos del cólera",
        "Cien años de soledad",
    ]
    assert titles("q=colera") == ["El amor en los tiempos del cólera"]
    assert titles("sort=author") == ["Zorro", "Ángeles", "Cien años de soledad",
                                     "El amor en los tiempos del cólera"]  # fmt: skip
    assert titles("q=nada") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("sort=price", "sort"), ("order=up", "order"), ("q=" + "x" * 201, "q"), ("q=a%00b", "q")],
)
def test_an_unknown_sort_or_a_bad_query_is_422(
    client: FlaskClient, token: str, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/books?{query}", headers=bearer(token))
    assert field in assert_error_shape(response, 422)["fields"]
