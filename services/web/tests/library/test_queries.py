"""Reads of a user's books, on the real Postgres: only the owner's, out-of-range ids find
nothing; the search ignores case and accents; each sort in both directions, with titles
in the order a Spanish or English reader expects (ICU collations)."""

from collections.abc import Iterator

import pytest
from flask import Flask

from bookshelf.library import queries
from bookshelf.library.listing import Listing
from services.web.tests.support import AuthActions, insert_book


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


def test_a_book_is_found_by_its_owner_only(ctx: Flask, auth: AuthActions) -> None:
    owner, stranger = auth.create_user(), auth.create_user()
    book_id = insert_book(ctx, owner.id)
    found = queries.owned_book(owner.id, book_id)
    assert found is not None and found.id == book_id
    assert queries.owned_book(stranger.id, book_id) is None


@pytest.mark.parametrize("book_id", [0, -1, queries.PG_INT_MAX + 1, 10**20])
def test_an_id_out_of_range_finds_nothing(ctx: Flask, auth: AuthActions, book_id: int) -> None:
    assert queries.owned_book(auth.create_user().id, book_id) is None


def test_a_page_is_ordered_and_owned(ctx: Flask, auth: AuthActions) -> None:
    owner, stranger = auth.create_user(), auth.create_user()
    for title, author in [("b", "Z"), ("B", "a"), ("a", "x"), ("c", "y")]:
        insert_book(ctx, owner.id, title=title, author=author)
    insert_book(ctx, stranger.id, title="a")
    first = queries.book_page(owner.id, page=1, per_page=3)
    # ICU: case is only a tie-break (lower case first), never "all capitals first".
    assert [(b.title, b.author) for b in first.items] == [("a", "x"), ("b", "Z"), ("B", "a")]
    assert (first.total, first.pages) == (4, 2)


def titles(owner_id: int, listing: Listing, locale: str = "es") -> list[str]:
    return [b.title for b in queries.book_page(owner_id, 1, 50, listing, locale).items]


@pytest.mark.parametrize("locale", ["es", "en"])
def test_titles_sort_as_readers_expect_not_by_code_point(
    ctx: Flask, auth: AuthActions, locale: str
) -> None:
    owner = auth.create_user()
    for title in ["Zorro", "Ángeles y demonios", "abeja", "Ñandú", "Nube", "Él", "el", "Oso"]:
        insert_book(ctx, owner.id, title=title)
    expected = {
        # Spanish: ñ is its own letter, after n.
        "es": ["abeja", "Ángeles y demonios", "el", "Él", "Nube", "Ñandú", "Oso", "Zorro"],
        "en": ["abeja", "Ángeles y demonios", "el", "Él", "Ñandú", "Nube", "Oso", "Zorro"],
    }[locale]
    assert titles(owner.id, Listing(), locale) == expected
    assert titles(owner.id, Listing(order="desc"), locale) == expected[::-1]


def test_each_sort_in_both_directions(ctx: Flask, auth: AuthActions) -> None:
    owner = auth.create_user()
    rows = [("Cien años", "García Márquez", 1967), ("Ayer", "Zafón", None),
            ("Rayuela", "Cortázar", 1963), ("Ficciones", "Borges", 1944)]  # fmt: skip
    for title, author, year in rows:  # inserted in this order: "added" follows it
        insert_book(ctx, owner.id, title=title, author=author, year=year)
    by = {
        "title": ["Ayer", "Cien años", "Ficciones", "Rayuela"],
        "author": ["Ficciones", "Rayuela", "Cien años", "Ayer"],
        "year": ["Ficciones", "Rayuela", "Cien años", "Ayer"],
        "added": ["Cien años", "Ayer", "Rayuela", "Ficciones"],
    }
    for sort, ascending in by.items():
        assert titles(owner.id, Listing(sort=sort)) == ascending, sort
        descending = ascending[::-1]
        if sort == "year":  # no year: last in either direction
            descending = ["Cien años", "Rayuela", "Ficciones", "Ayer"]
        assert titles(owner.id, Listing(sort=sort, order="desc")) == descending, sort


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("garcia marquez", ["Cien años de soledad"]),
        ("GARCÍA", ["Cien años de soledad"]),
        ("márquez cien", ["Cien años de soledad"]),  # every word, in any field and order
        ("anos", ["Cien años de soledad"]),  # ñ folds to n, as people type without it
        ("soledad borges", []),
        ("ficc", ["Ficciones"]),
        ("9780307474728", ["Cien años de soledad"]),
        ("978-0-307-47472-8", ["Cien años de soledad"]),  # hyphens as printed on the book
        ("0307", ["Cien años de soledad"]),
        ("100%", ["100% Ñoño"]),  # LIKE's wildcards are plain characters
        ("_", []),
        ("ñoño", ["100% Ñoño"]),
        ("", ["100% Ñoño", "Cien años de soledad", "Ficciones"]),
    ],
)
def test_the_search_ignores_case_and_accents(
    ctx: Flask, auth: AuthActions, query: str, found: list[str]
) -> None:
    owner, stranger = auth.create_user(), auth.create_user()
    insert_book(
        ctx, owner.id, "Cien años de soledad", "Gabriel García Márquez", isbn="9780307474728"
    )
    insert_book(ctx, owner.id, title="Ficciones", author="Jorge Luis Borges")
    insert_book(ctx, owner.id, title="100% Ñoño", author="Anónimo")
    insert_book(ctx, stranger.id, title="Cien años de soledad", author="García Márquez")
    assert titles(owner.id, Listing(q=query)) == found
