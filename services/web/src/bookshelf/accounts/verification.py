"""Verifying the account's address: the link of the sign-up email (a page, then a POST,
so that a mail scanner that opens links does not use it up) and "send it again"."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func

from bookshelf.accounts import links, mailing
from bookshelf.accounts.models import User
from bookshelf.extensions import db
from bookshelf.forms import ConfirmForm
from bookshelf_tasks import delivery
from bookshelf_tasks.delivery import HoldReason

bp = Blueprint("verification", __name__, url_prefix="/auth/verify")


def link_problem(error: links.LinkError) -> tuple[str, int]:
    """The page of a link that cannot be used: 400, and what to do instead."""
    message = (
        _("This link has expired. Ask for a new one.")
        if error.expired
        else _("This link is not valid, or it was already used.")
    )
    return render_template("auth/message.html", title=_("Link not valid"), message=message), 400


def confirmed(
    purpose: links.Purpose, token: str, address: Callable[[User], str | None]
) -> User | ResponseReturnValue:
    """The user of a link whose page was just confirmed (its form POSTed); else the page
    to answer: the link's problem (400), or the page that asks to confirm `address`."""
    try:
        user = links.user_for_token(purpose, token)
    except links.LinkError as error:
        return link_problem(error)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("auth/verify.html", form=form, address=address(user))
    return user


def wait_message() -> None:
    """A link of this sort went out within the interval: say when to ask again."""
    minutes = max(1, int(current_app.config["ACCOUNT_EMAIL_INTERVAL"]) // 60)
    flash(
        _("A link was sent a moment ago. You can ask for another in %(minutes)d minutes.",
          minutes=minutes),
        "warning",
    )  # fmt: skip


@bp.route("/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    user = confirmed(links.Purpose.VERIFY, token, lambda user: user.email)
    if not isinstance(user, User):
        return user
    mark_verified(user)
    db.session.commit()
    flash(_("Your address is verified. Your confirmation emails are on their way."), "success")
    return redirect(url_for("books.index" if current_user.is_authenticated else "auth.login"))


def mark_verified(user: User) -> int:
    """Set the address verified and release, in the same transaction, the book emails
    that waited for it (to this address only); the caller commits."""
    user.email_verified_at = func.now()
    user.verify_sent_at = None  # its interval guarded this address: a change may ask now
    return delivery.release_holds(
        db.session.connection(), user.id, HoldReason.UNVERIFIED, to=user.email
    )


@bp.post("/resend")
@login_required
def resend() -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    if not ConfirmForm().validate_on_submit() or user.verified:
        return redirect(url_for("auth.account"))
    if mailing.take_slot(user, mailing.Slot.VERIFY):
        mailing.send_verification(user)
        db.session.commit()
        flash(_("We sent you a new link. Check your inbox."), "success")
        return redirect(url_for("auth.account"))
    db.session.rollback()
    wait_message()
    return redirect(url_for("auth.account"))
