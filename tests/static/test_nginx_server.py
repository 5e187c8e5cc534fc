"""The real nginx, running the rendered template in front of a tiny local upstream:
proxying, static files, security headers, body limit, gzip, health endpoint, and its own
errors (the API's JSON error under /api/, a page elsewhere; TRACE answered by the app)."""

from __future__ import annotations

import gzip
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.nginx import NginxServer
from devstack.raw_http import RawResponse, exchange, request_bytes
from tests.static.support import PAGE, UPSTREAM_405, Running, nginx_before_upstream

pytestmark = pytest.mark.static

CSS = ("body { margin: 0; }\n" + ".book { color: #333; padding: 1rem; }\n" * 100).encode()
HSTS = 31536000


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("nginx")
    static = workdir / "static"
    static.mkdir(mode=0o755)
    (static / "style.css").write_bytes(CSS)
    with nginx_before_upstream(workdir, static_root=static, hsts_max_age=HSTS) as running:
        yield running


def test_health_endpoint(running: Running) -> None:
    reply = running.get("/nginx-health")
    assert reply.status_code == 200 and reply.text == "ok\n"


def test_proxies_to_the_upstream_with_forwarding_headers(running: Running) -> None:
    reply = running.get("/books?page=2")
    assert reply.status_code == 200
    assert reply.content == PAGE
    assert running.upstream.headers["X-Forwarded-For"] == "127.0.0.1"
    assert running.upstream.headers["X-Forwarded-Proto"] == "http"
    assert running.upstream.headers["Host"] == f"127.0.0.1:{running.nginx.port}"
    # A TLS-terminating proxy's scheme is kept.
    running.get("/", **{"X-Forwarded-Proto": "https"})
    assert running.upstream.headers["X-Forwarded-Proto"] == "https"


def test_serves_static_files_itself(running: Running) -> None:
    reply = running.get("/static/style.css", **{"Accept-Encoding": "identity"})
    assert reply.status_code == 200
    assert reply.content == CSS
    assert reply.headers["Content-Type"].startswith("text/css")
    assert reply.headers["Cache-Control"] == "max-age=3600"
    assert running.get("/static/missing.css").status_code == 404
    # With `location /static` (no slash) this would resolve to STATIC_ROOT/../static/style.css.
    assert running.get("/static../static/style.css").content != CSS


def test_gzip_applies_to_static_files_but_not_to_pages(running: Running) -> None:
    css = requests.get(
        f"{running.nginx.base_url}/static/style.css",
        headers={"Accept-Encoding": "gzip"},
        timeout=10,
        stream=True,
    )
    assert css.headers["Content-Encoding"] == "gzip"
    assert css.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(css.raw.read()) == CSS
    page = running.get("/", **{"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in page.headers


@pytest.mark.parametrize("path", ["/", "/static/style.css", "/static/missing.css"])
def test_security_headers_once_on_every_response(running: Running, path: str) -> None:
    headers = running.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"  # the upstream's SAMEORIGIN is hidden
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Strict-Transport-Security"] == f"max-age={HSTS}; includeSubDomains"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "X-Powered-By" not in headers
    assert headers["Server"] == "nginx"
    # nginx's own id, once: the app's copy is hidden (requests would join two with ", ").
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])
    assert "Retry-After" not in headers


def test_body_limit_is_one_mebibyte(running: Running) -> None:
    url = f"{running.nginx.base_url}/books"
    too_big = requests.post(url, data=b"x" * (1024 * 1024 + 1), timeout=10)
    assert too_big.status_code == 413
    assert too_big.headers["Server"] == "nginx" and "nginx/" not in too_big.text
    assert too_big.headers["X-Frame-Options"] == "DENY"
    # Just under the limit: buffered to client_body_temp_path (workers run as nobody when
    # the master is root) and delivered whole.
    fits = requests.post(url, data=b"x" * (1024 * 1024 - 1), timeout=10)
    assert fits.status_code == 200
    assert running.upstream.body_bytes == 1024 * 1024 - 1


def test_upstream_down_is_a_502_with_headers(tmp_path: Path) -> None:
    from devstack.ports import free_port

    with NginxServer(tmp_path, f"127.0.0.1:{free_port()}") as nginx:
        reply = requests.get(f"{nginx.base_url}/", timeout=10)
        api = requests.get(f"{nginx.base_url}/api/v1/books", timeout=10)
    assert reply.status_code == 502
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Strict-Transport-Security"] == "max-age=0; includeSubDomains"
    assert reply.headers["Content-Type"].startswith("text/html")
    # Under /api/ the API's JSON error, as for every error nginx answers itself.
    assert api.status_code == 502 and api.headers["Content-Type"] == "application/json"
    assert set(api.json()) == {"error", "fields"} and api.json()["fields"] == {}
    assert api.headers["X-Content-Type-Options"] == "nosniff"


# --- nginx's own errors: the API's JSON error under /api/, a page elsewhere ----------------

CHUNKED = [("Transfer-Encoding", "chunked")]
# (method, path after the prefix, headers, body, HTTP version, the status nginx answers)
NGINX_ERRORS = [
    pytest.param("POST", "books", [("Content-Length", "2000000")], b"", "HTTP/1.1", 413, id="413"),
    pytest.param("GET", "books?q=" + "a" * 9000, [], b"", "HTTP/1.1", 414, id="414"),
    pytest.param("GET", "books", [("X-Big", "a" * 9000)], b"", "HTTP/1.1", 431, id="431-one"),
    pytest.param(
        "GET",
        "books",
        [(f"X-H{n}", "a" * 7000) for n in range(5)],
        b"",
        "HTTP/1.1",
        431,
        id="431-all",
    ),
    pytest.param("GET", "books", [("Host", "a/b")], b"", "HTTP/1.1", 400, id="400-host"),
    pytest.param(
        "POST", "books", CHUNKED, b"zz\r\nabc\r\n0\r\n\r\n", "HTTP/1.1", 400, id="400-chunked-body"
    ),
    pytest.param(
        "GET", "b\xc3\xa9".encode("latin-1"), [], b"", "HTTP/1.1", 400, id="400-utf8-target"
    ),
    pytest.param("GET", b"b\x01", [], b"", "HTTP/1.1", 400, id="400-control-byte-target"),
    pytest.param("AB", "books", [], b"", "HTTP/1.1", 501, id="501-two-letter-method"),
    pytest.param("A" * 21, "books", [], b"", "HTTP/1.1", 501, id="501-long-method"),
    pytest.param(
        "POST",
        "books",
        [("Transfer-Encoding", "gzip, chunked")],
        b"0\r\n\r\n",
        "HTTP/1.1",
        501,
        id="501-transfer-coding",
    ),
    pytest.param("GET", "books", [], b"", "HTTP/2.0", 505, id="505"),
]


def nginx_error(
    running: Running,
    prefix: str,
    method: str,
    path: str | bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    version: str,
) -> RawResponse:
    target = prefix.encode() + (path if isinstance(path, bytes) else path.encode())
    request = request_bytes(method, target, list(headers), body, version)
    if any(name == "Host" for name, _value in headers):  # the case's own Host replaces ours
        request = request.replace(b"Host: bookshelf.test\r\n", b"", 1)
    return exchange(running.nginx.base_url, request)


@pytest.mark.parametrize(("method", "path", "headers", "body", "version", "status"), NGINX_ERRORS)
def test_under_the_api_nginx_answers_the_apis_json_error(
    running: Running,
    method: str,
    path: str | bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    version: str,
    status: int,
) -> None:
    """What nginx refuses before the app sees it, or what it refuses because gunicorn would
    answer with an HTML page (a method gunicorn cannot parse, raw bytes in the target)."""
    running.upstream.method = ""
    reply = nginx_error(running, "/api/v1/", method, path, headers, body, version)
    assert reply.status == status
    assert reply.content_type == "application/json"
    error = reply.json()
    assert set(error) == {"error", "fields"} and error["fields"] == {}
    assert " / " in error["error"]  # Spanish / English, as the 429
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["X-Request-ID"])
    assert running.upstream.method == ""  # the app never saw it


@pytest.mark.parametrize(("method", "path", "headers", "body", "version", "status"), NGINX_ERRORS)
def test_elsewhere_nginx_answers_a_page(
    running: Running,
    method: str,
    path: str | bytes,
    headers: list[tuple[str, str]],
    body: bytes,
    version: str,
    status: int,
) -> None:
    reply = nginx_error(running, "/books/", method, path, headers, body, version)
    assert reply.status == status
    assert reply.content_type == "text/html"
    assert f"<h1>{status}</h1>" in reply.body.decode()
    assert b"nginx/" not in reply.body
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_a_request_line_nginx_cannot_read_is_a_page(running: Running) -> None:
    reply = exchange(running.nginx.base_url, b"GARBAGE\r\n\r\n")
    assert reply.status == 400 and reply.content_type == "text/html"


@pytest.mark.parametrize("path", ["/api/v1/books", "/books"])
def test_trace_is_answered_by_the_app_with_allow(running: Running, path: str) -> None:
    """nginx refuses TRACE before any location; the 405 is the app's (it knows the routes):
    its `Allow` and its body come back, with nginx's own headers."""
    running.upstream.method = ""
    reply = exchange(running.nginx.base_url, request_bytes("TRACE", path))
    assert running.upstream.method == "TRACE"
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert reply.body == UPSTREAM_405
    assert reply.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/_nginx/errors/json", "/_nginx/errors/html"])
def test_the_error_bodies_are_not_pages_of_their_own(running: Running, path: str) -> None:
    reply = running.get(path)
    assert reply.status_code == 404 and "fields" not in reply.text


def test_nginx_lets_through_what_fits_its_buffers(running: Running) -> None:
    """The largest request line and header nginx accepts reach the upstream: gunicorn's
    limits (gunicorn.conf.py) are set above these, so it never refuses one itself."""
    line = request_bytes("GET", "/api/v1/books?q=" + "a" * 8161)
    assert len(line.split(b"\r\n", 1)[0]) == 8190  # + CRLF: one 8 KiB buffer
    assert exchange(running.nginx.base_url, line).status == 200
    header = request_bytes("GET", "/api/v1/books", [("X-Big", "a" * 8183)])
    assert exchange(running.nginx.base_url, header).status == 200
    assert len(running.upstream.headers["X-Big"]) == 8183


def test_static_files_of_a_checkout_in_a_private_folder_are_served(tmp_path: Path) -> None:
    """A checkout under a 0700 folder (/root, `mktemp -d`) that nobody else may enter: as
    root, nginx's workers run as `nobody` and would answer 403. devstack serves a copy
    from its runtime dir, as the image does, and leaves the checkout's modes alone."""
    from devstack.ports import free_port

    private = Path(tempfile.mkdtemp(prefix="bookshelf-private-"))  # 0700, like mktemp -d
    try:
        static = private / "checkout" / "static"
        static.mkdir(parents=True, mode=0o700)
        (static / "style.css").write_bytes(CSS)
        (static / "style.css").chmod(0o600)
        with NginxServer(tmp_path, f"127.0.0.1:{free_port()}", static_root=static) as nginx:
            reply = nginx_get(nginx, "/static/style.css")
            # Served from the copy, not from the checkout.
            assert nginx.values["STATIC_ROOT"] == f"{nginx.runtime_dir / 'static'}/"
        assert reply.status_code == 200
        assert reply.content == CSS
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(private)


def nginx_get(nginx: NginxServer, path: str) -> requests.Response:
    return requests.get(
        f"{nginx.base_url}{path}", headers={"Accept-Encoding": "identity"}, timeout=10
    )
