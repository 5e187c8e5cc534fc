"""Page numbers from the query string, for every paginated list (pages and API)."""

from __future__ import annotations

from flask import request
from flask_sqlalchemy.pagination import Pagination

# The highest page any list serves: page * per_page must stay far below Postgres'
# bigint OFFSET limit (a larger one is a 500, not an empty page).
PAGE_MAX = 1_000_000


def clamp_page(page: int) -> int:
    """A page number within 1..PAGE_MAX (HTML lists clamp; the API refuses an
    out-of-range one with a 422)."""
    return min(max(page, 1), PAGE_MAX)


def requested_page() -> int:
    """The `page` an HTML list was asked for, clamped; 1 when absent or not a number."""
    return clamp_page(request.args.get("page", 1, type=int))


def past_the_end(found: Pagination) -> int | None:
    """The last page, when `found` was asked for a page after it (an old bookmark, a
    list that shrank): the HTML lists redirect there rather than show an empty page."""
    if found.pages and found.page > found.pages:
        return found.pages
    return None
