"""Reads of a user's books: only the owner's, out-of-range ids find nothing, and a page
is ordered by title (case-insensitive), then author, then id."""

from collections.abc import Iterator

import pytest
from flask import Flask

from bookshelf.library import queries
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
    assert [(b.title, b.author) for b in first.items] == [("a", "x"), ("B", "a"), ("b", "Z")]
    assert (first.total, first.pages) == (4, 2)
