"""The worker's Prometheus metrics, served on METRICS_BIND by the worker's main process
(docs/architecture.md, "Operations"): outcomes per kind, SMTP send time, and the depth
of the email queue, read from the broker at each scrape.

The thread pool (the default) counts in one process. Under prefork, set
PROMETHEUS_MULTIPROC_DIR to an empty directory so that the children's counts add up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_init
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from bookshelf_tasks.metrics_http import serve_metrics
from bookshelf_tasks.names import EMAIL_QUEUE

log = logging.getLogger(__name__)

EMAILS = Counter(
    "bookshelf_emails",
    "Email task runs by kind and outcome: sent, retrying (a retry is due), failed, "
    "uncertain, duplicate-skipped, lease-lost, rejected, database-unavailable.",
    ["kind", "outcome"],
)
SMTP_SECONDS = Histogram(
    "bookshelf_smtp_send_seconds",
    "Time to hand one email to the SMTP server (connect if needed, MAIL, RCPT, DATA), "
    "by result: ok, or error (refused, timed out, cut off).",
    ["result"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0),
)
# kombu's Redis transport keeps a queue with priorities in one list per priority step
# (the step's number after this separator; step 0 is the bare name).
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)


class QueueCollector(Collector):
    """LLEN of the email queue (and its priority lists) and the transport's unacked
    hash, at each scrape."""

    def __init__(self, broker_url: str, queue: str = EMAIL_QUEUE) -> None:
        self.client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
        self.keys = [queue] + [f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS[1:]]
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("bookshelf_broker_up", "1 when the broker answered this scrape.")
        depth = GaugeMetricFamily(
            "bookshelf_queue_messages",
            "Messages waiting on the broker's queue, not yet taken by a worker.",
            labels=["queue"],
        )
        unacked = GaugeMetricFamily(
            "bookshelf_queue_unacked_messages",
            "Messages taken by a worker and not yet acknowledged (all queues).",
        )
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in self.keys:
                pipe.llen(key)
            pipe.hlen("unacked")
            *lengths, taken = pipe.execute()
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        depth.add_metric([self.queue], sum(lengths))
        unacked.add_metric([], taken)
        yield from (up, depth, unacked)


def install(app: Celery, bind: tuple[str, int] | None, broker_url: str) -> None:
    """Serve the metrics on `bind` once a worker of `app` starts (not in other commands
    that load the app, such as `celery inspect`)."""
    if bind is None:
        return

    @worker_init.connect(weak=False)
    def _serve(sender: Any, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        registry.register(QueueCollector(broker_url))
        serve_metrics(bind, registry)
        log.info("Prometheus metrics on http://%s:%s/metrics", *bind)
