"""The real nginx in front of a tiny upstream: the brake on password-form POSTs (limit_req)
and request correlation (X-Request-ID to the app, to the client and into the JSON access log).

Every rate-limit test posts from its own loopback address (127.0.0.N), so each starts with a
full bucket of its own while all of them share one nginx.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.process import wait_until
from tests.static.support import Running, nginx_before_upstream

pytestmark = pytest.mark.static

MINTED_ID = re.compile(r"[0-9a-f]{32}")  # nginx's $request_id
BURST = 20  # limit_req ... burst=20 in the template
RATE = 2  # requests per second: limit_req_zone ... rate=2r/s
_ADDRESSES = (f"127.0.0.{n}" for n in itertools.count(10))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


class Limited(Running):
    def send(self, method: str, path: str, source: str, **headers: str) -> Reply:
        """One request on a fresh connection from `source`, the path sent exactly as given."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.nginx.port, timeout=10, source_address=(source, 0)
        )
        body = b"email=ana%40example.com&password=adivina" if method == "POST" else None
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            return Reply(reply.status, reply.headers, reply.read())
        finally:
            connection.close()

    def exhaust(self, source: str) -> int:
        """POST /auth/login from `source` until nginx refuses; how many it let through."""
        for passed in range(3 * BURST):
            if self.send("POST", "/auth/login", source).status == 429:
                return passed
        raise AssertionError(f"no 429 after {3 * BURST} login POSTs from {source}")

    def logged(self, request_id: str) -> dict[str, Any]:
        """The access-log entry of that request (nginx writes it after replying)."""
        found: list[dict[str, Any]] = []

        def written() -> bool:
            lines = self.nginx.access_log.read_text().splitlines()
            found[:] = [json.loads(x) for x in lines if f'"request_id":"{request_id}"' in x]
            return bool(found)

        assert wait_until(written, timeout=5), f"{request_id} not in {self.nginx.access_log}"
        assert len(found) == 1
        return found[0]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Limited]:
    with nginx_before_upstream(tmp_path_factory.mktemp("nginx-limits")) as running:
        yield Limited(running.nginx, running.upstream)


def most_passes(elapsed: float) -> int:
    """The most POSTs nginx may let through in `elapsed` seconds from a full bucket: the
    first, the burst, one per refilled slot, and one for a slot refilling at the edge."""
    return BURST + 1 + math.ceil(elapsed * RATE) + 1


@pytest.fixture
def address() -> str:
    """A loopback address no other test has posted from: a full bucket."""
    return next(_ADDRESSES)


# --- brute-force brake ----------------------------------------------------------------------


def test_a_burst_of_40_login_posts_gets_the_burst_then_429s(running: Limited, address: str) -> None:
    began = time.perf_counter()
    statuses = [running.send("POST", "/auth/login", address).status for _ in range(40)]
    elapsed = time.perf_counter() - began

    # 1 + burst pass at once; the slots refilled meanwhile (2 r/s) may let a few more pass.
    assert statuses[: BURST + 1] == [200] * (BURST + 1)
    assert BURST + 1 <= statuses.count(200) <= most_passes(elapsed), f"in {elapsed:.2f}s"
    assert statuses.count(429) == 40 - statuses.count(200)


def test_a_parallel_burst_of_register_posts_is_cut_too(running: Limited, address: str) -> None:
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(lambda _: running.send("POST", "/auth/register", address), range(40))
        )
    elapsed = time.perf_counter() - began
    statuses = [reply.status for reply in replies]

    assert set(statuses) == {200, 429}
    assert BURST + 1 <= statuses.count(200) <= most_passes(elapsed), f"in {elapsed:.2f}s"


def test_the_429_is_small_json_with_retry_after_and_the_usual_headers(
    running: Limited, address: str
) -> None:
    running.exhaust(address)
    refused = running.send("POST", "/auth/login", address)

    assert refused.status == 429
    assert refused.headers["Content-Type"] == "application/json"
    assert len(refused.body) < 256
    body = json.loads(refused.body)
    assert "Demasiados intentos" in body["error"] and "Too many attempts" in body["error"]
    assert body["fields"] == {}
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'self'")
    entry = running.logged(refused.headers["X-Request-ID"])
    # Refused in nginx: the app never saw it.
    assert (entry["status"], entry["limit_req"], entry["upstream_status"]) == (429, "REJECTED", "")


def test_waiting_retry_after_lets_the_next_attempt_through(running: Limited, address: str) -> None:
    running.exhaust(address)

    # Retry-After: 1, and a slot frees every 0.5 s at 2 r/s. Refused POSTs take no slot,
    # so polling does not delay the one that passes.
    passed = wait_until(
        lambda: running.send("POST", "/auth/login", address).status == 200,
        timeout=5,
        interval=0.1,
    )
    # Well beyond Retry-After for a slow runner, yet a per-minute rate would never get here.
    assert passed, "no login POST passed within 5 s of the 429"


def test_only_posts_to_the_password_forms_are_limited(running: Limited, address: str) -> None:
    running.exhaust(address)

    assert running.send("GET", "/auth/login", address).status == 200
    assert running.send("GET", "/auth/register", address).status == 200
    assert running.send("POST", "/books/new", address).status == 200
    assert running.send("POST", "/auth/account/token", address).status == 200
    # The bucket is per address: someone else can still log in.
    assert running.send("POST", "/auth/login", next(_ADDRESSES)).status == 200


@pytest.mark.parametrize(
    "path", ["/auth/register", "/auth//login", "/auth/%6cogin", "/auth/./register", "/auth/login/"]
)
def test_other_spellings_of_the_form_paths_share_the_bucket(
    running: Limited, address: str, path: str
) -> None:
    running.exhaust(address)

    assert running.send("POST", path, address).status == 429


def test_gets_of_the_form_pages_are_never_limited(running: Limited, address: str) -> None:
    statuses = {running.send("GET", path, address).status for path in ["/auth/login"] * 60}

    assert statuses == {200}


def test_the_e2e_suites_registrations_pass(running: Limited, address: str) -> None:
    # The e2e suite registers about a dozen users from one address, two at a time: each
    # loads the form, then posts it. Here with no pause at all between them.
    def register(_: int) -> tuple[int, int]:
        form = running.send("GET", "/auth/register", address).status
        return form, running.send("POST", "/auth/register", address).status

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(register, range(12)))

    assert results == [(200, 200)] * 12
    assert running.send("POST", "/auth/login", address).status == 200


# --- request correlation --------------------------------------------------------------------


def test_nginx_mints_an_id_passes_it_upstream_and_returns_it(running: Limited) -> None:
    first = running.get("/books")
    request_id = first.headers["X-Request-ID"]

    assert MINTED_ID.fullmatch(request_id)
    assert running.upstream.headers["X-Request-ID"] == request_id
    assert running.get("/books").headers["X-Request-ID"] != request_id


@pytest.mark.parametrize(
    "supplied",
    ["abcdefgh", "0f6c1a9e-4d2b-4c1e-9a53-2b7d8e9f0a1b", "trace.span_ABC-123", "x" * 64],
)
def test_a_sane_client_id_is_kept_end_to_end(running: Limited, supplied: str) -> None:
    reply = running.get("/books", **{"X-Request-ID": supplied})

    assert reply.headers["X-Request-ID"] == supplied
    assert running.upstream.headers["X-Request-ID"] == supplied


@pytest.mark.parametrize(
    "supplied",
    [
        "",
        "short7c",
        "has spaces in it",
        "abc%0d%0aSet-Cookie:%20session=stolen",
        'quoted"value"here',
        "semi;colon;value",
        "ñandú-request-id",
        "a" * 65,
        "b" * 200,
    ],
)
def test_any_other_client_id_is_replaced(running: Limited, supplied: str) -> None:
    reply = running.get("/books", **{"X-Request-ID": supplied})
    request_id = reply.headers["X-Request-ID"]

    assert request_id != supplied and MINTED_ID.fullmatch(request_id)
    assert running.upstream.headers["X-Request-ID"] == request_id


def test_static_files_and_nginx_errors_carry_an_id_too(running: Limited) -> None:
    for reply in (running.get("/nginx-health"), running.get("/static/no-such-file.css")):
        assert MINTED_ID.fullmatch(reply.headers["X-Request-ID"])


def test_access_log_is_one_json_object_per_request_with_the_id(running: Limited) -> None:
    agent = 'probe "quoted" \\ back\tslash'
    reply = running.get("/books?page=3", **{"X-Request-ID": "log-check-0001", "User-Agent": agent})
    entry = running.logged("log-check-0001")

    assert reply.status_code == 200
    assert entry["status"] == 200 and entry["method"] == "GET"
    assert entry["uri"] == "/books?page=3"
    assert entry["remote_addr"] == "127.0.0.1"
    assert entry["bytes_sent"] == len(reply.content)
    assert isinstance(entry["request_time"], float)
    assert entry["upstream_status"] == "200"
    assert 0 <= float(entry["upstream_response_time"]) <= entry["request_time"] + 0.001
    assert entry["limit_req"] == ""
    assert entry["user_agent"] == agent  # escape=json: hostile text stays inside its string


# --- behind a proxy (NGINX_TRUSTED_PROXIES) ----------------------------------------------


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Limited]:
    """The same nginx, told that 127.0.0.0/8 are its proxies (a load balancer's range)."""
    workdir = tmp_path_factory.mktemp("nginx-behind-proxy")
    with nginx_before_upstream(workdir, trusted_proxies="127.0.0.0/8") as running:
        yield Limited(running.nginx, running.upstream)


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    behind_proxy: Limited, address: str
) -> None:
    """One proxy address, two clients: exhausting one client's bucket leaves the other's."""
    behind_proxy.send("GET", "/", address, **{"X-Forwarded-For": "203.0.113.7"})
    assert behind_proxy.upstream.headers["X-Real-IP"] == "203.0.113.7"
    assert behind_proxy.upstream.headers["X-Forwarded-For"].endswith("203.0.113.7")

    for _n in range(3 * BURST):
        reply = behind_proxy.send(
            "POST", "/auth/login", address, **{"X-Forwarded-For": "203.0.113.8"}
        )
        if reply.status == 429:
            break
    else:
        raise AssertionError("the client behind the proxy was never limited")
    other = behind_proxy.send("POST", "/auth/login", address, **{"X-Forwarded-For": "203.0.113.9"})
    assert other.status == 200
    assert behind_proxy.logged(other.headers["X-Request-ID"])["remote_addr"] == "203.0.113.9"


def test_a_client_cannot_choose_its_address_through_a_trusted_proxy(
    behind_proxy: Limited, address: str
) -> None:
    """The proxy appends the address it saw; nginx takes the right-most untrusted one."""
    forwarded = "198.51.100.1, 203.0.113.20"  # the client's own claim, then the proxy's
    behind_proxy.send("GET", "/", address, **{"X-Forwarded-For": forwarded})
    assert behind_proxy.upstream.headers["X-Real-IP"] == "203.0.113.20"


def test_nobody_is_trusted_by_default_so_the_header_changes_nothing(
    running: Limited, address: str
) -> None:
    """Without NGINX_TRUSTED_PROXIES a client's X-Forwarded-For neither sets its address
    nor gets it a new bucket."""
    running.send("GET", "/", address, **{"X-Forwarded-For": "203.0.113.7"})
    assert running.upstream.headers["X-Real-IP"] == address
    running.exhaust(address)
    spoofed = running.send("POST", "/auth/login", address, **{"X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status == 429
