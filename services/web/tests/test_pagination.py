"""Page numbers: an HTML list clamps any `page` to 1..PAGE_MAX (Postgres' OFFSET
has a limit) rather than fail."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.pagination import PAGE_MAX, clamp_page
from services.web.tests.support import AuthActions, insert_book


@pytest.mark.parametrize(
    ("page", "clamped"), [(-(10**20), 1), (0, 1), (1, 1), (7, 7), (PAGE_MAX + 1, PAGE_MAX)]
)
def test_clamp_page(page: int, clamped: int) -> None:
    assert clamp_page(page) == clamped


@pytest.mark.parametrize("path", ["/", "/notifications/"])
@pytest.mark.parametrize("page", [str(10**20), str(2**63), "-" + str(10**20), "0"])
def test_a_huge_or_negative_page_is_clamped_not_a_500(
    app: Flask, client: FlaskClient, auth: AuthActions, path: str, page: str
) -> None:
    """page * per_page past Postgres' bigint OFFSET must not reach the query."""
    user = auth.new_user()
    insert_book(app, user.id)
    response = client.get(f"{path}?page={page}")
    assert response.status_code == 200
