"""`flask --app bookshelf outbox ...`: the relay's command. The work lives in relay.py."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import click
from flask.cli import AppGroup

from bookshelf.outbox.relay import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_HEARTBEAT,
    DEFAULT_INTERVAL,
    RelayLoop,
)

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
    loop.run()
