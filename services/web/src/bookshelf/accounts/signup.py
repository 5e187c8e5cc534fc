"""Sign-up without account enumeration: a new address gets its account and a
verification email; an address that has an account gets nothing new, and its owner an
email saying someone tried to register it. Both answer "check your inbox"."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from bookshelf.accounts import mailing, users
from bookshelf.accounts.models import User
from bookshelf.extensions import db

bp = Blueprint("signup", __name__, url_prefix="/auth")


def _welcome(user: User) -> None:
    mailing.take_slot(user, mailing.Slot.VERIFY)
    mailing.send_verification(user)


def register(name: str, email: str, password: str, locale: str, timezone: str = "UTC") -> None:
    try:
        users.create_user(name, email, password, locale, timezone, welcome=_welcome)
    except users.EmailTaken as taken:
        owner = users.find_by_email(str(taken))
        if owner is not None and mailing.take_slot(owner, mailing.Slot.SIGNUP_NOTICE):
            mailing.send_signup_notice(owner)
        db.session.commit()


@bp.get("/inbox")
def check_inbox() -> str:
    """Where sign-up and reset both lead, whoever owns the address (POST-redirect-GET)."""
    return render_template(
        "auth/message.html",
        title=_("Check your inbox"),
        message=_(
            "If the address can receive our email, a message with a link is on its way. "
            "It may take a few minutes."
        ),
    )
