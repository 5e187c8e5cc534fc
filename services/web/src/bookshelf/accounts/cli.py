"""`flask --app bookshelf user ...`: account administration from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bookshelf.accounts.models import User
from bookshelf.extensions import db

user_cli = AppGroup("user", help="User accounts.")


@user_cli.command("make-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the admin role away instead.")
def make_admin(email: str, revoke: bool) -> None:
    """Let the user with EMAIL see every user's failed emails (/admin/emails)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with the email {email!r}")
    user.is_admin = not revoke
    db.session.commit()
    click.echo(f"{user.email} is {'no longer ' if revoke else ''}an admin")
