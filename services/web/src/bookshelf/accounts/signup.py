"""Sign-up without account enumeration: a new address gets its account and a
verification email; an address that has an account gets nothing new, and its owner an
email saying someone tried to register it. Both answer "check your inbox"."""

from __future__ import annotations

from bookshelf.accounts import mailing, users
from bookshelf.accounts.models import User
from bookshelf.extensions import db


def _welcome(user: User) -> None:
    mailing.take_slot(user, mailing.Slot.VERIFY)
    mailing.send_verification(user)


def register(name: str, email: str, password: str, locale: str) -> None:
    try:
        users.create_user(name, email, password, locale, welcome=_welcome)
    except users.EmailTaken as taken:
        owner = users.find_by_email(str(taken))
        if owner is not None and mailing.take_slot(owner, mailing.Slot.SIGNUP_NOTICE):
            mailing.send_signup_notice(owner)
        db.session.commit()
