"""One HTTP/1.1 exchange over a plain socket, for the requests a broken or hostile client
sends and `requests` refuses to build: a TRACE, a 9 KiB header, raw UTF-8 or a control
byte in the target, a malformed chunked body. The tests of nginx's error answers use it."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Message  # case-insensitive get(); get_all() shows a header sent twice
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").partition(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


def request_bytes(
    method: str | bytes,
    target: str | bytes,
    headers: list[tuple[str | bytes, str | bytes]] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    """The request exactly as given (bytes pass through untouched), with `Host` and
    `Connection: close` first, so the server ends the exchange."""
    lines = [_raw(method) + b" " + _raw(target) + b" " + version.encode()]
    lines += [b"Host: bookshelf.test", b"Connection: close"]
    lines += [_raw(name) + b": " + _raw(value) for name, value in headers or []]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def exchange(base_url: str, request: bytes, timeout: float = 10) -> RawResponse:
    """Send `request` as is to the host and port of `base_url`; the response."""
    url = urlsplit(base_url)
    method = request.split(b" ", 1)[0].decode("latin-1")
    with socket.create_connection((url.hostname, url.port or 80), timeout=timeout) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        body = response.read()
        return RawResponse(response.status, response.headers, body)


def _raw(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")
