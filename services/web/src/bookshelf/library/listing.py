"""Which of a user's books a list shows, and in what order: the search box and the sort
menu, read from the query string (`q`, `sort`, `order`) by the page and the API alike.

The page keeps them in its links (pagination, the sort menu), so a view can be
bookmarked; it falls back to the defaults for a value it does not know, where the
API answers 422 naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from bookshelf.text_rules import has_control_chars

SORTS = ("title", "author", "year", "added")
ORDERS = ("asc", "desc")
DEFAULT_SORT, DEFAULT_ORDER = "title", "asc"
QUERY_MAX = 200
# Beyond this many words a query finds nothing new, only costs more LIKEs.
WORDS_MAX = 8
_ISBN_WITH_SEPARATORS = re.compile(r"^[0-9Xx]+(?:-[0-9Xx]+)+$")


@dataclass(frozen=True)
class Listing:
    q: str = ""
    sort: str = DEFAULT_SORT
    order: str = DEFAULT_ORDER

    @property
    def words(self) -> list[str]:
        """The query's words as the search matches them: every one must appear in the
        title, the author or the ISBN. "978-0-441" is read as the stored "9780441"."""
        words = self.q.split()[:WORDS_MAX]
        return [w.replace("-", "") if _ISBN_WITH_SEPARATORS.match(w) else w for w in words]

    @property
    def args(self) -> dict[str, str]:
        """The query-string arguments that differ from the defaults, for links."""
        found = {"q": self.q, "sort": self.sort, "order": self.order}
        defaults = {"q": "", "sort": DEFAULT_SORT, "order": DEFAULT_ORDER}
        return {name: value for name, value in found.items() if value != defaults[name]}

    @property
    def filtered(self) -> bool:
        return bool(self.words)


def read_listing(args: Mapping[str, str]) -> tuple[Listing, dict[str, str]]:
    """The listing `args` ask for, with the defaults where a value is missing or
    unknown, and one message per parameter that was not valid."""
    errors: dict[str, str] = {}
    q = args.get("q", "").strip()
    if len(q) > QUERY_MAX:
        errors["q"] = _("Must be at most %(max)d characters.", max=QUERY_MAX)
        q = ""
    elif has_control_chars(q):  # a NUL byte would be a psycopg2 error, not a search
        errors["q"] = _("Must not contain line breaks or control characters.")
        q = ""
    sort = args.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        errors["sort"] = _("Must be one of: %(choices)s.", choices=", ".join(SORTS))
        sort = DEFAULT_SORT
    order = args.get("order", DEFAULT_ORDER)
    if order not in ORDERS:
        errors["order"] = _("Must be one of: %(choices)s.", choices=", ".join(ORDERS))
        order = DEFAULT_ORDER
    return Listing(q, sort, order), errors
