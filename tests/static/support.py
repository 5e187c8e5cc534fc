"""Typed helpers of the static checks (no Docker engine needed): the Docker and Compose
files read as data, the repository's tools, and a real nginx in front of a fake upstream
that records what it was sent."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from devstack.nginx import NginxServer

REPO = Path(__file__).resolve().parents[2]
# The virtualenv running the tests (VENV=... in make and bootstrap may move it off .venv).
VENV_BIN = Path(sys.executable).parent
COMPOSE_FILES = {"dev": REPO / "compose.yaml", "prod": REPO / "compose.prod.yaml"}
DOCKERFILES = sorted(REPO.glob("services/*/Dockerfile"))
# `${NAME`, `${NAME:-x}`, `${NAME:?msg}` but not the escaped `$${NAME}`.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*):\?")
# Services that run once and exit (no healthcheck, waited on with completed_successfully).
ONE_SHOT = {"migrate"}


def load_compose(which: str) -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILES[which].read_text())


def compose_text(which: str) -> str:
    """The file without its comment lines, which Compose does not interpolate."""
    lines = COMPOSE_FILES[which].read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def compose_variables(which: str) -> set[str]:
    return set(COMPOSE_VARIABLE.findall(compose_text(which)))


def required_variables(which: str) -> set[str]:
    return set(REQUIRED_VARIABLE.findall(compose_text(which)))


def env_example_names() -> set[str]:
    names = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def dockerfile_of(service: dict[str, Any]) -> Path | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return REPO / build / "Dockerfile"
    return REPO / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def tool(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {VENV_BIN}: run `make bootstrap`")
    return str(path)


# --- nginx in front of a fake upstream ------------------------------------------------

PAGE = ("<!doctype html><title>upstream</title>" + "<p>bookshelf</p>" * 200).encode()
UPSTREAM_REQUEST_ID = "set-by-the-upstream"
UPSTREAM_405 = b'{"error":"That method is not allowed here.","fields":{}}'


@dataclass
class Upstream:
    """What the fake gunicorn saw: the last request's headers and body size."""

    port: int = 0
    method: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body_bytes: int = 0


def make_handler(seen: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            seen.method = self.command
            seen.headers = dict(self.headers.items())
            length = int(self.headers.get("Content-Length") or 0)
            seen.body_bytes = len(self.rfile.read(length)) if length else 0
            body = PAGE if self.command == "GET" else str(seen.body_bytes).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            # nginx must hide the app's copies of the headers it owns.
            self.send_header("X-Frame-Options", "SAMEORIGIN")
            self.send_header("X-Powered-By", "upstream")
            self.send_header("X-Request-ID", UPSTREAM_REQUEST_ID)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def do_TRACE(self) -> None:
            """As the app answers a method no route takes: 405, Allow, its JSON error."""
            seen.method = self.command
            body = UPSTREAM_405
            self.send_response(405)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Allow", "GET, HEAD, OPTIONS, POST")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@dataclass
class Running:
    nginx: NginxServer
    upstream: Upstream

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(f"{self.nginx.base_url}{path}", headers=headers, timeout=10)


@contextmanager
def nginx_before_upstream(workdir: Path, **nginx_options: Any) -> Iterator[Running]:
    """The rendered template's nginx, in front of a fake upstream, both running."""
    seen = Upstream()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(seen))
    seen.port = upstream.server_address[1]
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    nginx = NginxServer(workdir, f"127.0.0.1:{seen.port}", **nginx_options)
    try:
        nginx.start()
        yield Running(nginx, seen)
    finally:
        nginx.stop()
        upstream.shutdown()
        upstream.server_close()
