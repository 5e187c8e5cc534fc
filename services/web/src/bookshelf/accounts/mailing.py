"""The account emails: each recorded in the outbox with the change it announces, and at
most one of a sort per account per interval (ACCOUNT_EMAIL_INTERVAL), counted in
Postgres so every web worker shares it (docs/architecture.md, "Account emails")."""

from __future__ import annotations

import logging
from enum import StrEnum

from flask import current_app
from sqlalchemy import func, or_, update

from bookshelf.accounts import links
from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.outbox.record import record_notice

log = logging.getLogger(__name__)


class Slot(StrEnum):
    """A sort of account email, named after the column that says when it last went out."""

    VERIFY = "verify_sent_at"
    RESET = "reset_sent_at"
    SIGNUP_NOTICE = "signup_notice_sent_at"


def take_slot(user: User, slot: Slot) -> bool:
    """True, and the time noted, if no email of `slot` went to `user` within the
    interval. One conditional UPDATE: two requests at once cannot both get it."""
    column = getattr(User, slot.value)
    interval = func.make_interval(0, 0, 0, 0, 0, 0, current_app.config["ACCOUNT_EMAIL_INTERVAL"])
    taken = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(column.is_(None), column <= func.now() - interval))
        .values({column: func.now()})
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        log.info("account email %s for user %s not sent: within the interval", slot, user.id)
    return bool(taken)


def send_verification(user: User) -> None:
    """The verification email, to the account's address (the caller commits). Its
    greeting and display name are the address itself: whoever signed up chose the
    account's name, and the address's owner has not vouched for it yet."""
    link = links.external_url(
        "verification.confirm", token=links.make_token(links.Purpose.VERIFY, user)
    )
    record_notice(user, "verify_address", {"link": link}, name=user.email)


def send_reset(user: User) -> None:
    link = links.external_url("recovery.reset", token=links.make_token(links.Purpose.RESET, user))
    record_notice(user, "password_reset", {"link": link})


def send_signup_notice(user: User) -> None:
    """To the owner of an address someone tried to register again."""
    record_notice(user, "address_taken", {"reset_page": links.external_url("recovery.ask")})


def send_change_confirmation(user: User) -> None:
    """To the pending new address, before it replaces the old one."""
    assert user.pending_email is not None
    link = links.external_url(
        "settings.confirm_email", token=links.make_token(links.Purpose.CHANGE, user)
    )
    record_notice(
        user, "confirm_new_address", {"link": link}, to=user.pending_email, name=user.pending_email
    )


def send_address_changed(user: User, old_address: str) -> None:
    """To the old address, once the new one replaced it."""
    record_notice(user, "address_changed", {"new_address": user.email}, to=old_address)
