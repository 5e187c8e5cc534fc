"""The library pages: add, edit, list (searched, sorted, paginated), view, delete, IDOR,
bad input."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.web.tests.support import (
    AuthActions,
    MakeApp,
    books_of,
    events_of,
    insert_book,
    small_pages_library,
)

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
    assert "«<bdi>Dune</bdi>» se añadió a tu biblioteca." in page
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
    assert "«<bdi>Dune</bdi>» se eliminó." in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/books/{id}"),
        ("get", "/books/{id}/edit"),
        ("post", "/books/{id}/edit"),
        ("get", "/books/{id}/delete"),
        ("post", "/books/{id}/delete"),
    ],
)
def test_another_users_book_is_404_and_stays_intact(
    app: Flask, client: FlaskClient, auth: AuthActions, method: str, path: str
) -> None:
    owner = auth.create_user()
    book_id = insert_book(app, owner.id, title="Private")
    auth.new_user(name="Mallory")
    response = getattr(client, method)(path.format(id=book_id), data=GOOD)
    assert response.status_code == 404
    assert "Private" not in response.get_data(as_text=True)
    assert [b.title for b in books_of(app, owner.id)] == ["Private"]
    assert events_of(app, owner.id) == []


@pytest.mark.parametrize("book_id", ["0", "2147483648", "99999999999999999999999"])
def test_out_of_range_ids_are_404(client: FlaskClient, auth: AuthActions, book_id: str) -> None:
    auth.new_user()
    assert client.get(f"/books/{book_id}").status_code == 404


def test_edit_shows_the_book_then_saves_every_field_without_an_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.new_user()
    client.post("/books/new", data={**GOOD, "year": "1965"})
    [book] = books_of(app, user.id)
    emails = len(events_of(app, user.id))
    form = client.get(f"/books/{book.id}/edit").get_data(as_text=True)
    assert 'value="Dune"' in form and 'value="1965"' in form and "Editar «<bdi>Dune</bdi>»" in form
    assert f'href="/books/{book.id}/edit"' in client.get(f"/books/{book.id}").get_data(as_text=True)
    edited = {"title": "Dune Messiah", "author": "F. Herbert", "isbn": "0-441-17269-5",
              "year": "1969", "notes": "Second"}  # fmt: skip
    response = client.post(f"/books/{book.id}/edit", data=edited)
    assert response.status_code == 302 and response.location == f"/books/{book.id}"
    [saved] = books_of(app, user.id)
    assert (saved.title, saved.author, saved.isbn, saved.year, saved.notes) == (
        "Dune Messiah", "F. Herbert", "0441172695", 1969, "Second"
    )  # fmt: skip
    assert len(events_of(app, user.id)) == emails  # an edit sends no email
    assert "«<bdi>Dune Messiah</bdi>» se guardó." in client.get(response.location).get_data(
        as_text=True
    )


def test_an_invalid_edit_is_422_with_the_count_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.new_user()
    book_id = insert_book(app, user.id, title="Dune")
    response = client.post(f"/books/{book_id}/edit", data={**GOOD, "title": "t" * 245})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Debe tener como máximo 200 caracteres (tiene 245)." in page
    assert "t" * 245 in page  # what was typed stays, to be shortened
    assert 'maxlength="200"' not in page and 'data-max-chars="200"' in page
    assert [b.title for b in books_of(app, user.id)] == ["Dune"]


def test_the_list_has_a_search_box_and_keeps_search_and_sort_in_its_links(
    make_app: MakeApp, auth: AuthActions
) -> None:
    books = [
        ("Cien años de soledad", "Gabriel García Márquez"),
        ("Crónica de una muerte anunciada", "Gabriel García Márquez"),
        ("El otoño del patriarca", "Gabriel García Márquez"),
        ("Rayuela", "Julio Cortázar"),
    ]
    client = small_pages_library(make_app, auth, books)
    page = client.get("/?q=garcia+marquez&sort=title&order=desc").get_data(as_text=True)
    assert "3 libros coinciden" in page
    assert 'value="garcia marquez"' in page
    assert '<option value="title" selected>' in page and '<option value="desc" selected>' in page
    assert page.index("El otoño") < page.index("Crónica")
    assert "Rayuela" not in page and "Cien años" not in page  # on page 2
    assert 'href="/?page=2&amp;q=garcia+marquez&amp;order=desc"' in page
    nothing = client.get("/?q=borges").get_data(as_text=True)
    assert "Ningún libro coincide con «borges»." in nothing
    odd = client.get("/?sort=price&order=sideways")  # unknown: the defaults, not an error
    assert odd.status_code == 200 and "Cien años" in odd.get_data(as_text=True)


def test_titles_and_authors_keep_their_own_direction(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.new_user()
    book_id = insert_book(app, user.id, title="ספר החול", author="בורחס")
    listing = client.get("/").get_data(as_text=True)
    assert 'class="book-title" dir="auto">ספר החול</a>' in listing
    assert "<bdi>בורחס</bdi>" in listing
    detail = client.get(f"/books/{book_id}").get_data(as_text=True)
    assert '<h1 dir="auto">ספר החול</h1>' in detail
