"""A forgotten password: ask for a link by address (the same answer whether or not it
has an account), then set a new password through it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bookshelf.accounts import links, mailing, sessions, users
from bookshelf.accounts.lifecycle_forms import NewPasswordForm, ResetRequestForm
from bookshelf.accounts.models import User
from bookshelf.accounts.verification import link_problem, mark_verified
from bookshelf.extensions import db
from bookshelf.throttle import login_brake

bp = Blueprint("recovery", __name__, url_prefix="/auth/reset")


@bp.route("/", methods=["GET", "POST"])
def ask() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = users.find_by_email(form.email.data or "")
        if user is not None and mailing.take_slot(user, mailing.Slot.RESET):
            mailing.send_reset(user)
        db.session.commit()
        return redirect(url_for("signup.check_inbox"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/<token>", methods=["GET", "POST"])
def reset(token: str) -> ResponseReturnValue:
    try:
        user = links.user_for_token(links.Purpose.RESET, token)
    except links.LinkError as error:
        return link_problem(error)
    form = NewPasswordForm()
    form.name, form.address = user.name, user.email
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return render_template("auth/reset.html", form=form), status
    set_password(user, form.password.data or "")
    if not user.verified:
        mark_verified(user)  # the link reached this address: it is the owner's
    db.session.commit()
    login_brake.clear(user.email)  # the owner proved who they are: the brake lets go
    flash(_("Your password was changed. Log in with the new one."), "success")
    return redirect(url_for("auth.login"))


def set_password(user: User, password: str) -> None:
    """A new password (the caller commits); every other session of the user ends."""
    user.set_password(password)
    sessions.end_other_sessions(user)
