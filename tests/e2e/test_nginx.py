"""nginx serves the static files itself, owns the security headers, hides its version, tags
every request with an X-Request-ID, brakes password-form POSTs per client address, and
under /api/ answers every error as the API's JSON error, whoever refuses the request."""

from __future__ import annotations

import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from bench.stats import percentile
from devstack.bookshelf_client import BookshelfUser
from devstack.html_forms import find_form
from devstack.raw_http import RawResponse, exchange, request_bytes
from tests.e2e.support import StackUrls, record_figure

# A guess refused by nginx itself (its JSON 429), told apart from the app's own 429.
NGINX_REFUSED = -429
NGINX_TEMPLATE = Path(__file__).resolve().parents[2] / "services" / "nginx" / "nginx.conf.template"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def get(stack: StackUrls, path: str, encoding: str = "identity") -> requests.Response:
    return requests.get(
        f"{stack.base_url}{path}",
        headers={"Accept-Encoding": encoding},
        timeout=10,
        allow_redirects=False,
    )


def test_static_files_come_from_nginx_with_cache_headers(stack: StackUrls) -> None:
    css = get(stack, "/static/style.css")

    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    # `expires 1h` in the /static/ location: gunicorn would not set this.
    assert css.headers["Cache-Control"] == "max-age=3600"
    assert css.headers["Accept-Ranges"] == "bytes"
    assert len(css.content) > 100
    assert get(stack, "/static/style.css", "gzip").headers.get("Content-Encoding") == "gzip"
    # Dynamic pages stay uncompressed (BREACH), even when the client offers gzip.
    assert "Content-Encoding" not in get(stack, "/auth/login", "gzip").headers


def test_static_alias_does_not_reach_the_package_beside_it(stack: StackUrls) -> None:
    # The classic alias slip: `location /static` + `alias .../static/` would serve
    # /static../config.py from the bookshelf package next to the static folder.
    leaked = get(stack, "/static../config.py")

    assert leaked.status_code == 404
    assert "SECRET_KEY" not in leaked.text


@pytest.mark.parametrize(
    "path", ["/static/style.css", "/auth/login", "/healthz", "/static/no-such-file.css", "/nope"]
)
def test_security_headers_once_on_every_response_and_server_has_no_version(
    stack: StackUrls, path: str
) -> None:
    response = get(stack, path)

    assert response.headers["Server"] == "nginx"
    for name, value in SECURITY_HEADERS.items():
        # requests joins repeated headers with ", ": equality also proves there is one.
        assert response.headers.get(name) == value, name
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "X-Powered-By" not in response.headers


def test_error_pages_do_not_reveal_the_nginx_version(stack: StackUrls) -> None:
    too_big = requests.post(
        f"{stack.base_url}/auth/login", data=b"x" * (2 * 1024 * 1024), timeout=10
    )

    assert too_big.status_code == 413
    assert too_big.headers["Server"] == "nginx"
    assert "nginx/" not in too_big.text


# --- errors under /api/: the API's JSON error, whoever answers -------------------------


def assert_api_error(reply: RawResponse, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body[:200]
    assert reply.content_type == "application/json", reply.body[:200]
    body: dict[str, Any] = reply.json()
    assert set(body) == {"error", "fields"} and body["error"]
    return body


@pytest.mark.parametrize(
    ("path", "kind"), [("/api/v1/books", "application/json"), ("/auth/login", "text/html")]
)
def test_trace_is_the_apps_405_with_allow(stack: StackUrls, path: str, kind: str) -> None:
    """nginx refuses TRACE before any location; the app answers that 405, listing what
    the route does take, as JSON under /api/ and as its page elsewhere."""
    reply = exchange(stack.base_url, request_bytes("TRACE", path))
    assert reply.status == 405 and reply.content_type == kind
    assert set(reply.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert reply.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        pytest.param("/api/v1/books?q=" + "a" * 8161, [], id="longest-request-line"),
        pytest.param("/api/v1/books", [("X-Big", "a" * 8183)], id="longest-header"),
        pytest.param("/api/v1/books", [(f"X-H{n}", "1") for n in range(300)], id="300-headers"),
        pytest.param(
            "/api/v1/books",
            [("X-Forwarded-For", str(n) * 7000) for n in range(1, 5)],
            id="x-forwarded-for-joined-by-nginx",
        ),
        pytest.param(
            "/api/v1/books",
            [("X-Forwarded-Proto", "https"), ("X-Forwarded-Ssl", "off")],
            id="contradicting-scheme-headers",
        ),
    ],
)
def test_what_nginx_lets_through_gunicorn_lets_through(
    stack: StackUrls, target: str, headers: list[tuple[str, str]]
) -> None:
    """gunicorn's refusals are HTML pages, so its limits sit above nginx's: the app itself
    answers (a 401 for want of a token), never gunicorn."""
    reply = exchange(stack.base_url, request_bytes("GET", target, list(headers)))
    assert_api_error(reply, 401)
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="bookshelf"'


@pytest.mark.parametrize(
    ("method", "target", "headers", "status"),
    [
        pytest.param("GET", "/api/v1/books?q=" + "a" * 8162, [], 414, id="414-one-byte-over"),
        pytest.param("GET", "/api/v1/books", [("X-Big", "a" * 8184)], 431, id="431-one-over"),
        pytest.param("POST", "/api/v1/books", [("Content-Length", str(2**20 + 1))], 413, id="413"),
        pytest.param("GET", b"/api/v1/libro/\xc3\xb1", [], 400, id="400-raw-utf8-target"),
        pytest.param("AB", "/api/v1/books", [], 501, id="501-method-gunicorn-cannot-parse"),
    ],
)
def test_what_nginx_refuses_under_the_api_is_json(
    stack: StackUrls,
    method: str,
    target: str | bytes,
    headers: list[tuple[str, str]],
    status: int,
) -> None:
    reply = exchange(stack.base_url, request_bytes(method, target, list(headers)))
    assert assert_api_error(reply, status)["fields"] == {}


def test_every_response_carries_a_request_id_and_a_sane_one_is_kept(stack: StackUrls) -> None:
    minted = get(stack, "/auth/login").headers["X-Request-ID"]
    kept = requests.get(
        f"{stack.base_url}/healthz", headers={"X-Request-ID": "e2e-trace-0001"}, timeout=10
    )
    replaced = requests.get(
        f"{stack.base_url}/healthz", headers={"X-Request-ID": "two words"}, timeout=10
    )

    assert re.fullmatch(r"[0-9a-f]{32}", minted)
    # Once: the app's own copy, if it echoes one, is hidden by nginx.
    assert kept.headers["X-Request-ID"] == "e2e-trace-0001"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])


class FromAddress(HTTPAdapter):
    """Connects from `source`, another loopback address: its own limit_req bucket in nginx."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass(frozen=True)
class PasswordFormLimit:
    """nginx's brake on the password forms, as the template configures it."""

    rate_per_s: float
    burst: int

    @classmethod
    def configured(cls) -> PasswordFormLimit:
        template = NGINX_TEMPLATE.read_text()
        zone = re.search(r"zone=password_forms:\S+ rate=(\d+)r/([sm]);", template)
        limit = re.search(r"limit_req zone=password_forms burst=(\d+) nodelay;", template)
        assert zone and limit, f"no password_forms limit in {NGINX_TEMPLATE}"
        per = {"s": 1, "m": 60}[zone.group(2)]
        return cls(rate_per_s=int(zone.group(1)) / per, burst=int(limit.group(1)))

    def most_let_through(self, seconds: float) -> int:
        """The first request, the burst, and what refilled in `seconds`; +1 because nginx
        counts in whole milliseconds."""
        return 1 + self.burst + math.ceil(seconds * self.rate_per_s) + 1


def guess_passwords(
    stack: StackUrls, email: str, source: str, guesses: int
) -> tuple[list[tuple[int, float]], float]:
    """Wrong-password logins with a valid CSRF token, all sent at once from one address as a
    script would: ([(status, ms)], seconds from the first send to the last reply). nginx's
    own refusal (its small JSON 429) is NGINX_REFUSED; the app's 429 (its per-account
    brake, a page) stays 429.

    One thread and connection per guess, released together: nginx sees them all within
    moments, however slowly the app then answers the ones it lets through, so the limit's
    refill cannot keep up even on a loaded machine."""
    intruder = BookshelfUser(stack.base_url)
    intruder.http.mount("http://", FromAddress(source))
    page = intruder.get("/auth/login")
    form = find_form(page.text, page.url, having="password")
    start = threading.Barrier(guesses)

    def guess(attempt: int) -> tuple[int, float]:
        with requests.Session() as http:
            http.mount("http://", FromAddress(source))
            http.cookies.update(intruder.http.cookies)
            data = form.filled(email=email, password=f"adivina-{attempt:04d}")
            start.wait(timeout=30)
            began = time.perf_counter()
            # Generous: the app answers its share one scrypt at a time, two workers.
            done = http.post(form.action, data=data, timeout=60, allow_redirects=False)
            by_nginx = done.status_code == 429 and "json" in done.headers["Content-Type"]
            return NGINX_REFUSED if by_nginx else done.status_code, (
                time.perf_counter() - began
            ) * 1000

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=guesses) as pool:
        replies = list(pool.map(guess, range(guesses)))
    return replies, time.perf_counter() - began


def test_password_guessing_is_braked_per_address_and_the_owner_still_logs_in(
    stack: StackUrls, user: BookshelfUser
) -> None:
    if stack.mode != "local":
        # Through Docker's port publishing every client may share one address: the burst
        # would lock the other tests out of /auth for ten seconds.
        pytest.skip("needs nginx to see the loopback source address (local stack)")
    limit = PasswordFormLimit.configured()
    guesses = 2 * (1 + limit.burst)  # twice what the brake lets through at once

    replies, elapsed = guess_passwords(stack, user.account.email, "127.0.0.2", guesses)

    app_statuses = [status for status, _ms in replies if status != NGINX_REFUSED]
    app_ms = [ms for status, ms in replies if status != NGINX_REFUSED]
    refused_ms = [ms for status, ms in replies if status == NGINX_REFUSED]
    record_figure(
        "password_guessing_concurrent",
        {
            "guesses": guesses,
            "seconds": round(elapsed, 2),
            "answered_by_app": len(app_ms),
            "refused_by_nginx": len(refused_ms),
            "app_p50_ms": round(percentile(app_ms, 0.5), 1),
            "refused_p50_ms": round(percentile(refused_ms, 0.5), 2) if refused_ms else None,
        },
    )

    # The app checks the guesses nginx lets through itself: a wrong password, so the form
    # again with 422, until its per-account brake refuses that address (429); never a
    # redirect (a login) nor an error.
    assert 422 in app_statuses and set(app_statuses) <= {422, 429}, app_statuses
    # The bucket starts full: the first request and the whole burst get through ...
    assert len(app_ms) >= 1 + limit.burst
    # ... and past them only the slots refilled while the guesses went on, so nginx
    # refuses the rest before gunicorn spends any scrypt on them.
    most = limit.most_let_through(elapsed)
    assert len(app_ms) <= most, f"{len(app_ms)} let through in {elapsed:.2f}s, at most {most}"
    assert refused_ms, f"no guess refused in {elapsed:.2f}s"
    # The owner, from 127.0.0.1 like every other test, is not locked out.
    user.logout()
    user.login()
