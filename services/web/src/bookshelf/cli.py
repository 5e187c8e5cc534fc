"""`flask --app bookshelf outbox ...`: commands for the compose services besides web.

Thin on purpose: the work lives in `outbox_relay`.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path
from types import FrameType

import click
from flask.cli import AppGroup

from bookshelf.outbox_relay import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_GRACE,
    DEFAULT_HEARTBEAT,
    DEFAULT_INTERVAL,
    RelayLoop,
)
from bookshelf.stale_queued import DEFAULT_STALE_AFTER

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
    "--grace",
    type=click.FloatRange(min=0),
    default=DEFAULT_GRACE.total_seconds(),
    show_default=True,
    help="Leave events younger than this many seconds to the request that wrote them.",
)
@click.option(
    "--stale-after",
    type=click.FloatRange(min=1),
    default=DEFAULT_STALE_AFTER.total_seconds(),
    show_default=True,
    help="Queue again the events queued this many seconds ago that have no task state "
    "(their message was lost with the broker's data).",
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
def relay(
    once: bool,
    interval: float,
    grace: float,
    stale_after: float,
    batch_size: int,
    heartbeat_file: Path,
) -> None:
    """Queue the pending email events that their request could not queue, and again
    the queued ones whose message was lost."""
    loop = RelayLoop(
        interval,
        batch_size,
        timedelta(seconds=grace),
        heartbeat_file,
        stale_after=timedelta(seconds=stale_after),
    )
    if once:
        result = loop.run_pass()
        if result is None:
            raise click.ClickException("the relay pass failed; see the log above")
        click.echo(
            f"queued {result.queued}, undeliverable {result.undeliverable}, "
            f"still pending {result.still_pending}, stale re-queued {result.requeued}, "
            f"settled {result.settled} ({result.seconds:.3f}s)"
        )
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        loop.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loop.run()
