"""The add-book POST over HTTP with and without the email dispatch.

A second gunicorn, beside the LocalStack's own, serves the same app on the same
database and broker, except that `notifications.dispatch` does nothing: the book and
its outbox row are committed, and the row stays 'pending'. Both gunicorns are driven
directly (no nginx in front of either), so the difference is the dispatch alone:
building the signature, publishing to the broker, and marking the row 'queued'.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from bench.load import ApiClient, closed_loop
from bench.stats import latency_ms
from bookshelf import create_app as create_bookshelf_app
from bookshelf import notifications
from devstack.gunicorn import GunicornServer
from devstack.stack import LocalStack

APP_SPEC = "bench.no_dispatch:create_app()"


def create_app() -> Flask:
    """gunicorn's app factory for the no-dispatch web (gunicorn runs from the repo root)."""
    app = create_bookshelf_app()
    notifications.dispatch = lambda event: True
    return app


class NoDispatchWeb(GunicornServer):
    """The devstack gunicorn, with this module's factory as the app."""

    def __init__(self, stack: LocalStack) -> None:
        super().__init__(stack.workdir / "no-dispatch", stack.env)
        # The app spec is gunicorn's last argument (devstack/gunicorn.py).
        assert self.process.argv[-1] == "bookshelf:create_app()", self.process.argv
        self.process.argv[-1] = APP_SPEC


def compare(stack: LocalStack, requests: int, warmup: int, time_limit: float) -> dict[str, Any]:
    """POST at concurrency 1 straight to each gunicorn: real path vs no dispatch."""
    user = ApiClient(stack.base_url, "direct")
    web = NoDispatchWeb(stack).start()
    figures: dict[str, Any] = {}
    try:
        for label, base_url in (
            ("with_dispatch", stack.web.base_url),
            ("no_dispatch", web.base_url),
        ):
            client = user.via(base_url)
            post = client.poster(label)
            closed_loop(client, post, warmup, 2, time_limit)
            run = closed_loop(client, post, requests, 1, time_limit)
            figures[label] = {
                "latency_ms": latency_ms([s.seconds for s in run.samples]),
                "throughput_per_s": round(run.throughput, 1),
                "statuses": run.statuses(),
            }
    finally:
        web.stop()
    real, bare = figures["with_dispatch"]["latency_ms"], figures["no_dispatch"]["latency_ms"]
    figures["dispatch_cost_p50_ms"] = round(real["p50"] - bare["p50"], 2)
    return figures
