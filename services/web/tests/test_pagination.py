"""Page numbers: an HTML list clamps any `page` to 1..PAGE_MAX (Postgres' OFFSET
has a limit) rather than fail."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.pagination import PAGE_MAX, clamp_page
from services.web.tests.support import AuthActions, MakeApp, insert_book, small_pages_library


@pytest.mark.parametrize(
    ("page", "clamped"), [(-(10**20), 1), (0, 1), (1, 1), (7, 7), (PAGE_MAX + 1, PAGE_MAX)]
)
def test_clamp_page(page: int, clamped: int) -> None:
    assert clamp_page(page) == clamped


@pytest.mark.parametrize("path", ["/", "/notifications/"])
@pytest.mark.parametrize(
    ("page", "status"),
    [(str(10**20), 302), (str(2**63), 302), ("-" + str(10**20), 200), ("0", 200)],
)
def test_a_huge_or_negative_page_is_clamped_not_a_500(
    app: Flask, client: FlaskClient, auth: AuthActions, path: str, page: str, status: int
) -> None:
    """page * per_page past Postgres' bigint OFFSET must not reach the query; a page
    after the last one redirects to the last."""
    user = auth.new_user()
    insert_book(app, user.id)
    client.post("/books/new", data={"title": "Dune", "author": "FH"})  # one email too
    response = client.get(f"{path}?page={page}")
    assert response.status_code == status
    if status == 302:
        assert response.location == f"{path}?page=1"


def test_a_page_after_the_last_redirects_there_keeping_the_search_and_sort(
    make_app: MakeApp, auth: AuthActions
) -> None:
    books = [(f"Dune {n}", "Frank Herbert") for n in range(3)] + [("Emma", "Jane Austen")]
    client = small_pages_library(make_app, auth, books)
    response = client.get("/?q=dune&sort=year&order=desc&page=999")
    assert response.status_code == 302
    path, _sep, query = response.location.partition("?")
    assert path == "/"
    assert dict(pair.split("=") for pair in query.split("&")) == {
        "q": "dune",
        "sort": "year",
        "order": "desc",
        "page": "2",
    }
    last = client.get(response.location).get_data(as_text=True)
    assert "Página 2 de 2" in last
    assert 'href="/?page=1&amp;q=dune&amp;sort=year&amp;order=desc"' in last
