"""A bench user: registered through the HTML forms (CSRF token included), with an API
token generated on the account page, as a person would. Self-contained: the benchmarks
import nothing from tests/, whose helpers may move."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

TOKEN_PATTERN = re.compile(r"\bbks_[A-Za-z0-9_\-]{20,}")
PASSWORD = "contraseña-larga-123"


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """Each <form>'s action and its named <input> values (hidden ones included)."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(urljoin(self.page_url, attr.get("action") or self.page_url)))
        elif (
            tag == "input"
            and self.forms
            and attr.get("name")
            and attr.get("type", "text").lower() not in {"submit", "button", "checkbox"}
        ):
            self.forms[-1].fields[attr["name"]] = attr.get("value", "")


def _submit(http: requests.Session, url: str, action_part: str, **values: str) -> str:
    """Load `url`, post its form whose action contains `action_part`; the reply's text."""
    page = http.get(url, timeout=10)
    page.raise_for_status()
    parser = _Forms(page.url)
    parser.feed(page.text)
    form = next((f for f in parser.forms if action_part in f.action), None)
    if form is None:
        raise RuntimeError(f"no form posting to *{action_part}* on {url}")
    reply = http.post(form.action, data={**form.fields, **values}, timeout=10)
    reply.raise_for_status()
    return reply.text


@dataclass(frozen=True)
class BenchUser:
    email: str
    token: str


def register(base_url: str, label: str) -> BenchUser:
    """A new account (its email locale Spanish) and its API token."""
    base = base_url.rstrip("/")
    email = f"bench-{label}-{uuid.uuid4().hex[:10]}@example.com"
    http = requests.Session()
    http.headers["Accept-Language"] = "es"
    _submit(
        http, f"{base}/auth/register", "/register", name=f"Banco {label}", email=email,
        password=PASSWORD,
    )  # fmt: skip
    shown = _submit(http, f"{base}/auth/account", "/token")
    found = TOKEN_PATTERN.search(shown)
    if found is None:
        raise RuntimeError(f"the account page of {email} showed no API token")
    return BenchUser(email, found.group(0))
