"""The library pages: add, list (sorted, paginated), view, delete, IDOR, bad input."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.web.tests.support import AuthActions, books_of, events_of, insert_book

GOOD = {"title": "Dune", "author": "Frank Herbert", "isbn": "", "year": "", "notes": ""}


def test_add_book_stores_normalized_values(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.new_user()
    form = {**GOOD, "isbn": "978-0-441-17271-9", "year": "1965", "notes": "Spice\nmust flow"}
    response = client.post("/books/new", data=form)
    assert response.status_code == 302
    [book] = books_of(app, user.id)
    assert (book.title, book.author, book.isbn, book.year) == (
        "Dune",
        "Frank Herbert",
        "9780441172719",
        1965,
    )
    assert response.location == f"/books/{book.id}"
    page = client.get(response.location).get_data(as_text=True)
    assert "«Dune» se añadió a tu biblioteca." in page
    assert "9780441172719" in page and "Spice\nmust flow" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Este campo es obligatorio."),
        ("title", "x" * 201, "como máximo 200 caracteres"),
        ("title", "Du\r\nne", "No puede contener saltos de línea"),
        ("author", "", "Este campo es obligatorio."),
        ("author", "a" * 201, "como máximo 200 caracteres"),
        ("author", "Frank\nHerbert", "No puede contener saltos de línea"),
        ("title", "\u200b\u200b", "Debe contener al menos un carácter visible."),
        ("author", "\u2060\ufeff", "Debe contener al menos un carácter visible."),
        ("title", "\u202eexe.FDP", "No puede contener caracteres invisibles que cambian"),
        ("author", "Frank\u200f", "No puede contener caracteres invisibles que cambian"),
        ("isbn", "978-0-441-17271-8", "No es un ISBN-10 ni un ISBN-13 válido"),
        ("isbn", "12345", "No es un ISBN-10 ni un ISBN-13 válido"),
        ("year", "0", "Debe estar entre 1 y"),
        ("year", "99999", "Debe estar entre 1 y"),
        ("year", "MMXX", "Debe ser un número entero."),
        ("notes", "n" * 2001, "como máximo 2000 caracteres"),
        ("notes", "bad\x00byte", "No puede contener caracteres de control."),
    ],
)
def test_invalid_field_gets_a_message_next_to_it_and_nothing_is_stored(
    app: Flask, client: FlaskClient, auth: AuthActions, field: str, value: str, message: str
) -> None:
    user = auth.new_user()
    response = client.post("/books/new", data={**GOOD, field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error_block = page.split(f'id="{field}-error"')[1].split("</ul>")[0]
    assert message in error_block
    assert f'aria-describedby="{field}-error"' in page or f"{field}-hint {field}-error" in page
    assert books_of(app, user.id) == []
    assert events_of(app, user.id) == []


def test_list_is_sorted_by_title_and_paginated(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.new_user()
    titles = [f"Book {n:02d}" for n in range(25)]
    for title in reversed(titles):
        insert_book(app, user.id, title=title.lower() if title.endswith("3") else title)
    first = client.get("/").get_data(as_text=True)
    second = client.get("/?page=2").get_data(as_text=True)
    assert "25 libros" in first and "Página 1 de 2" in first
    assert first.index("Book 00") < first.index("book 03") < first.index("Book 19")
    assert "Book 20" not in first
    assert all(f"book {n}" in second.lower() for n in range(20, 25))
    assert "book 19" not in second.lower()
    assert "Página 2 de 2" in second


def test_empty_state(client: FlaskClient, auth: AuthActions) -> None:
    auth.new_user()
    page = client.get("/").get_data(as_text=True)
    assert "Tu estantería está vacía." in page and "Añade tu primer libro" in page


def test_list_shows_only_my_books(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    stranger = auth.create_user()
    insert_book(app, stranger.id, title="Stranger's diary")
    auth.new_user()
    assert "Stranger's diary" not in client.get("/").get_data(as_text=True)


def test_delete_asks_for_confirmation_then_deletes(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.new_user()
    book_id = insert_book(app, user.id)
    confirm = client.get(f"/books/{book_id}/delete")
    assert confirm.status_code == 200
    assert "¿Eliminar este libro?" in confirm.get_data(as_text=True)
    assert len(books_of(app, user.id)) == 1  # GET changes nothing
    response = client.post(f"/books/{book_id}/delete")
    assert response.status_code == 302 and response.location == "/"
    assert books_of(app, user.id) == []
    assert "«Dune» se eliminó." in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/books/{id}"), ("get", "/books/{id}/delete"), ("post", "/books/{id}/delete")],
)
def test_another_users_book_is_404_and_stays_intact(
    app: Flask, client: FlaskClient, auth: AuthActions, method: str, path: str
) -> None:
    owner = auth.create_user()
    book_id = insert_book(app, owner.id, title="Private")
    auth.new_user(name="Mallory")
    response = getattr(client, method)(path.format(id=book_id))
    assert response.status_code == 404
    assert "Private" not in response.get_data(as_text=True)
    assert [b.title for b in books_of(app, owner.id)] == ["Private"]
    assert events_of(app, owner.id) == []


@pytest.mark.parametrize("book_id", ["0", "2147483648", "99999999999999999999999"])
def test_out_of_range_ids_are_404(client: FlaskClient, auth: AuthActions, book_id: str) -> None:
    auth.new_user()
    assert client.get(f"/books/{book_id}").status_code == 404
