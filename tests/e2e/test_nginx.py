"""nginx serves the static files itself, owns the security headers, and hides its version."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.stack_modes import StackUrls

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
