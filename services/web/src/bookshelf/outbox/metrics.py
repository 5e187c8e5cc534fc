"""The outbox's Prometheus metrics, served by the relay on METRICS_BIND
(docs/architecture.md, "Operations"): gauges read from Postgres at each scrape, and the
relay's own counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from flask import Flask
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from bookshelf.extensions import db
from bookshelf.outbox.summary import status_summary

if TYPE_CHECKING:
    from bookshelf.outbox.relay import RelayResult

RELAY_PUBLISHED = Counter(
    "bookshelf_outbox_relay_published", "Emails the relay put on the queue (first or again)."
)
RELAY_REQUEUED = Counter(
    "bookshelf_outbox_relay_requeued",
    "Emails the relay published again: nobody claimed them, their worker vanished "
    "before DATA, or their retry message was lost.",
)
RELAY_UNCERTAIN = Counter(
    "bookshelf_outbox_relay_uncertain", "Sends the relay settled as uncertain (lost after DATA)."
)
RELAY_PASS_FAILURES = Counter(
    "bookshelf_outbox_relay_pass_failures", "Relay passes that raised (database unreachable)."
)


def count_pass(result: RelayResult) -> None:
    RELAY_PUBLISHED.inc(result.published)
    RELAY_REQUEUED.inc(result.published_again)
    RELAY_UNCERTAIN.inc(result.uncertain)


class OutboxCollector(Collector):
    """Reads the outbox's summary (outbox.summary) when Prometheus scrapes."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "bookshelf_outbox_up", "1 when the outbox could be read at this scrape, else 0."
        )
        events = GaugeMetricFamily(
            "bookshelf_outbox_events",
            "Emails in each unfinished or dead-letter state ('sent' is not counted).",
            labels=["status"],
        )
        oldest = GaugeMetricFamily(
            "bookshelf_outbox_oldest_event_age_seconds",
            "Age of the oldest email in each state, since it was written (0: none).",
            labels=["status"],
        )
        held = GaugeMetricFamily(
            "bookshelf_outbox_held_events",
            "Pending emails held back on purpose (e.g. until the owner verifies the address).",
        )
        with self.app.app_context():
            try:
                summary = status_summary()
            except SQLAlchemyError:
                up.add_metric([], 0)
                yield up
                return
            finally:
                db.session.remove()
        up.add_metric([], 1)
        for row in summary.statuses:
            events.add_metric([row.status.value], row.count)
            oldest.add_metric([row.status.value], row.oldest_seconds)
        held.add_metric([], summary.held)
        yield from (up, events, oldest, held)
