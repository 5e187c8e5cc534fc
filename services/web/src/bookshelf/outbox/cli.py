"""`flask --app bookshelf outbox ...`: the relay, and the operator's look at the dead
letters. The work lives in relay.py and dead_letters.py."""

from __future__ import annotations

import logging
import os
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import click
import sentry_sdk
from flask import current_app
from flask.cli import AppGroup
from prometheus_client import REGISTRY

from bookshelf.outbox.dead_letters import RETRYABLE, Window, events_in, retry_all
from bookshelf.outbox.metrics import OutboxCollector
from bookshelf.outbox.relay import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_HEARTBEAT,
    DEFAULT_INTERVAL,
    RelayLoop,
)
from bookshelf_tasks.delivery import EmailStatus
from bookshelf_tasks.metrics_http import metrics_bind, serve_metrics

log = logging.getLogger(__name__)
outbox_cli = AppGroup("outbox", help="The email outbox.")


@outbox_cli.command("relay")
@click.option("--once", is_flag=True, help="One pass, then exit 0 (cron, tests, manual runs).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="Seconds between passes.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=10_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events per pass at most.",
)
@click.option(
    "--heartbeat-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_HEARTBEAT,
    show_default=True,
    help="Touched after every pass; the container healthcheck reads its age.",
)
def relay(once: bool, interval: float, batch_size: int, heartbeat_file: Path) -> None:
    """Publish every email whose due time passed: not published by its request, not
    claimed by a worker, or whose worker vanished."""
    loop = RelayLoop(interval, batch_size, heartbeat_file)
    if once:
        result = loop.run_pass()
        if result is None:
            raise click.ClickException("the relay pass failed; see the log above")
        click.echo(
            f"published {result.published}, uncertain {result.uncertain}, "
            f"undeliverable {result.undeliverable}, still due {result.still_due} "
            f"({result.seconds:.3f}s)"
        )
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        loop.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if current_app.config.get("SENTRY_DSN"):  # errors say they came from the relay
        sentry_sdk.get_global_scope().set_tag("component", "outbox-relay")
    _serve_metrics()
    loop.run()


def _serve_metrics() -> None:
    """The outbox gauges and the relay's counters, on METRICS_BIND when it is set."""
    bind = metrics_bind(os.environ)
    if bind is None:
        return
    REGISTRY.register(OutboxCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    serve_metrics(bind)
    log.info("outbox relay: Prometheus metrics on http://%s:%s/metrics", *bind)


UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Moment(click.ParamType):
    """An age (`90s`, `10m`, `2h`, `3d`, `1w`: that long ago) or an ISO 8601 time
    (UTC unless it says otherwise); converted to an aware datetime."""

    name = "AGE|TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        match = re.fullmatch(r"(\d+)([smhdw])", text)
        if match:
            return datetime.now(UTC) - timedelta(**{UNITS[match[2]]: int(match[1])})
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{text!r} is neither an age like 10m, 2h, 3d nor an ISO 8601 time", param, ctx
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _age(created_at: datetime) -> str:
    seconds = int((datetime.now(UTC) - created_at).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


STATUS = click.Choice([status.value for status in EmailStatus if status is not EmailStatus.SENT])


@outbox_cli.command("list")
@click.option("--status", type=STATUS, default=EmailStatus.FAILED.value, show_default=True)
@click.option("--older-than", type=Moment(), help="Written before this (an age, or a time).")
@click.option("--since", type=Moment(), help="Written at or after this (an age, or a time).")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=100, show_default=True)
def list_events(
    status: str, older_than: datetime | None, since: datetime | None, limit: int
) -> None:
    """Every user's emails in one state, oldest first: id, age, attempts, owner, reason."""
    rows = events_in(EmailStatus(status), Window(since=since, before=older_than), limit)
    for event, owner in rows:
        attempts = event.attempts - event.retry_budget_start
        held = f"held ({event.hold_reason})" if event.hold_reason else "-"
        reason = (event.last_error or held).replace("\n", " ")
        click.echo(
            f"{event.id}  {event.kind:<7}  age {_age(event.created_at)}  "
            f"attempts {attempts}  {owner}  {reason}"
        )
    click.echo(
        f"{len(rows)} {status} email(s)" + (f" (limit {limit})" if len(rows) == limit else "")
    )


@outbox_cli.command("retry")
@click.option(
    "--status", type=click.Choice([s.value for s in RETRYABLE]), default="failed", show_default=True
)
@click.option("--since", type=Moment(), help="Only emails written at or after this.")
@click.option("--older-than", type=Moment(), help="Only emails written before this.")
@click.option("--limit", type=click.IntRange(min=1, max=100_000), default=1000, show_default=True)
def retry(status: str, since: datetime | None, older_than: datetime | None, limit: int) -> None:
    """Send every user's failed (or uncertain) emails again, as their owner's Retry
    does: same event, same Message-ID, a fresh retry budget. Safe to run twice."""
    outcomes = retry_all(EmailStatus(status), Window(since=since, before=older_than), limit)
    summary = ", ".join(f"{outcome.value} {count}" for outcome, count in sorted(outcomes.items()))
    click.echo(
        f"{sum(outcomes.values())} {status} email(s) retried" + (f": {summary}" if outcomes else "")
    )
