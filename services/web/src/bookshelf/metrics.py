"""Request metrics of the web app: count and latency per endpoint (Prometheus).

Under gunicorn each worker process writes them to PROMETHEUS_MULTIPROC_DIR and the
master serves the sum on METRICS_BIND (gunicorn.conf.py); nginx never proxies it.
The endpoint label is the URL rule (`/books/<int:book_id>`), never the raw path, so a
scan of random URLs adds one series (`<unmatched>`), not one per URL.
"""

from __future__ import annotations

import time
from typing import Final

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram

UNMATCHED: Final = "<unmatched>"
REQUESTS = Counter(
    "bookshelf_http_requests",
    "HTTP requests answered by the web app, by endpoint (URL rule), method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "bookshelf_http_request_duration_seconds",
    "Time from the app receiving a request to its response, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        endpoint, method = _endpoint(), request.method
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        started = g.pop("metrics_started", None)
        if started is not None:
            LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
        return response
