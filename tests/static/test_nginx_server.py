"""The real nginx, running the rendered template in front of a tiny local upstream:
proxying, static files, security headers, body limit, gzip, health endpoint."""

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
from tests.static.support import PAGE, Running, nginx_before_upstream

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
    assert reply.status_code == 502
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Strict-Transport-Security"] == "max-age=0; includeSubDomains"


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
