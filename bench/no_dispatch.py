"""The add-book POST over HTTP with and without the email dispatch.

A second gunicorn, beside the LocalStack's own, serves the same app on the same
database and broker, except that `notifications.dispatch` does nothing: the book and
its outbox row are committed, and the row stays 'pending'. Both gunicorns are driven
directly (no nginx in front of either), one request at a time, alternating, so the
difference is the dispatch alone: building the signature, publishing to the broker,
and marking the row 'queued'. The stack's outbox relay, if it runs one, is stopped
first: it would otherwise dispatch the no-dispatch rows in the background.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from bench.load import ApiClient, Run, Sample, closed_loop, timed
from bench.stack_parts import relay_of
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
    """POSTs one at a time straight to each gunicorn, alternating between the two, so
    that both variants see the same background load of this shared machine."""
    user = ApiClient(stack.base_url, "direct")
    relay = relay_of(stack)
    if relay is not None:
        # It would send the no-dispatch rows a second later, loading the worker and
        # the database during the measurement. This is the run's last step. Through
        # the stack, so that its supervisor leaves the relay down.
        stack.stop_service(relay.name)
    web = NoDispatchWeb(stack).start()
    variants = {
        "with_dispatch": user.via(stack.web.base_url),
        "no_dispatch": user.via(web.base_url),
    }
    samples: dict[str, list[Sample]] = {label: [] for label in variants}
    try:
        sessions = {}
        for label, client in variants.items():
            closed_loop(client, client.poster(label), warmup, 2, time_limit)
            sessions[label] = client.session()
        deadline = time.monotonic() + time_limit
        for index in range(requests):
            if time.monotonic() >= deadline:
                break
            for label, client in variants.items():
                samples[label].append(timed(client.poster(label), sessions[label], index))
    finally:
        web.stop()
    figures: dict[str, Any] = {
        label: {
            "latency_ms": latency_ms([s.seconds for s in runs]),
            # One request at a time: what one connection would get, back to back.
            "throughput_per_s": round(len(runs) / sum(s.seconds for s in runs), 1),
            "statuses": Run(runs).statuses(),
        }
        for label, runs in samples.items()
    }
    real, bare = figures["with_dispatch"]["latency_ms"], figures["no_dispatch"]["latency_ms"]
    figures["dispatch_cost_p50_ms"] = round(real["p50"] - bare["p50"], 2)
    return figures
