"""Read the forms of a page, so a client submits what a browser would (CSRF token included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)

    def filled(self, **values: str) -> dict[str, str]:
        """The form's own fields (hidden ones such as csrf_token) overlaid with `values`."""
        unknown = set(values) - set(self.fields)
        if unknown:
            raise AssertionError(f"form {self.action} has no field(s) {sorted(unknown)}")
        return {**self.fields, **values}


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            action = urljoin(self.page_url, attr.get("action") or self.page_url)
            self._current = Form(action, (attr.get("method") or "get").lower())
        elif self._current is None:
            return
        elif tag == "input" and attr.get("name"):
            kind = attr.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attr:
                return  # a browser does not submit it
            self._current.fields[attr["name"]] = attr.get("value", "")
        elif tag == "select" and attr.get("name"):
            self._select = attr["name"]
            self._current.fields[self._select] = ""
        elif tag == "option" and self._select:
            # The first option is the default; a `selected` one wins.
            if "selected" in attr or not self._current.fields[self._select]:
                self._current.fields[self._select] = attr.get("value", "")
        elif self._current is not None and tag == "textarea" and attr.get("name"):
            self._textarea = attr["name"]
            self._current.fields[self._textarea] = ""

    def handle_data(self, data: str) -> None:
        if self._current is not None and self._textarea:
            self._current.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._current is not None:
            self.forms.append(self._current)
            self._current = None


def parse_forms(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    parser.close()
    return parser.forms


def find_form(html: str, page_url: str, *, having: str, action_ends: str = "") -> Form:
    """The first form with a field named `having` whose action's path ends with
    `action_ends` (a suffix, not a substring: "/token" is not "/token/revoke")."""
    for form in parse_forms(html, page_url):
        if having in form.fields and urlsplit(form.action).path.endswith(action_ends):
            return form
    raise AssertionError(f"no form with field {having!r} on {page_url}")
