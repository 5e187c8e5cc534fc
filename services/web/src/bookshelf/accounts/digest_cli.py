"""`flask digest send [--day YYYY-MM-DD]`: the daily digest now, for one day, without
waiting for beat (the test hook; an operator's too). It only publishes the task by
name: the digest's one-row-per-user-and-day rule makes a repeat harmless."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click
from flask.cli import AppGroup

from bookshelf.outbox.producer import producer
from bookshelf_tasks.digest import digest_signature

digest_cli = AppGroup("digest", help="The daily digest email.")


@digest_cli.command("send")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The users' local date to report (default: today in UTC).",
)
def send(day: datetime | None) -> None:
    wanted: date = day.date() if day else datetime.now(UTC).date()
    digest_signature(wanted, app=producer()).apply_async()
    click.echo(f"digest for {wanted.isoformat()} published")
