"""Changing the password or the address, and deleting the account: each asks for the
current password, so a session left open is not enough."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from wtforms import Field

from bookshelf.accounts import links, mailing, users
from bookshelf.accounts.lifecycle_forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
)
from bookshelf.accounts.models import User
from bookshelf.accounts.recovery import set_password
from bookshelf.accounts.rules import normalize_email
from bookshelf.accounts.verification import confirmed, link_problem, wait_message
from bookshelf.extensions import db

bp = Blueprint("settings", __name__, url_prefix="/auth/account")


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _password_ok(field: Field) -> bool:
    if _me().check_password(field.data or ""):
        return True
    field.errors = [*field.errors, _("Wrong password.")]
    return False


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    form.name, form.address = _me().name, _me().email
    if form.validate_on_submit() and _password_ok(form.current_password):
        set_password(_me(), form.password.data or "")
        db.session.commit()
        flash(_("Your password was changed."), "success")
        return redirect(url_for("auth.account"))
    status = 422 if form.errors else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email() -> ResponseReturnValue:
    form = ChangeEmailForm()
    if form.validate_on_submit() and _password_ok(form.current_password):
        new = normalize_email(form.email.data or "")
        if new is None:
            form.email.errors = [_("Enter a valid email address.")]
        elif new == _me().email:
            form.email.errors = [_("That is already your address.")]
        else:
            if _ask_for(new):
                flash(
                    _("We sent a link to %(address)s. Your address changes when you open it.",
                      address=new),
                    "info",
                )  # fmt: skip
            else:
                wait_message()
            return redirect(url_for("auth.account"))
    status = 422 if form.errors else 200
    return render_template("auth/change_email.html", form=form), status


def _ask_for(new: str) -> bool:
    """Send the confirmation to `new`; if another account has it, tell that owner
    instead (the requester sees the same answer either way). False, and nothing sent,
    within the requester's interval, whatever the address."""
    me = _me()
    if not mailing.take_slot(me, mailing.Slot.VERIFY):
        db.session.rollback()
        return False
    owner = users.find_by_email(new)
    if owner is not None:
        if mailing.take_slot(owner, mailing.Slot.SIGNUP_NOTICE):
            mailing.send_signup_notice(owner)
    else:
        me.pending_email = new
        mailing.send_change_confirmation(me)
    db.session.commit()
    return True


@bp.route("/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> ResponseReturnValue:
    user = confirmed(links.Purpose.CHANGE, token, lambda user: user.pending_email)
    if not isinstance(user, User):
        return user
    old, was_verified = user.email, user.verified
    user.email, user.pending_email = str(user.pending_email), None
    user.email_verified_at = func.now()
    if was_verified:  # an address nobody verified is told nothing
        mailing.send_address_changed(user, old)
    try:
        db.session.commit()
    except IntegrityError:  # the address got an account since the link was sent
        db.session.rollback()
        return link_problem(links.LinkError())
    flash(_("Your address is now %(address)s.", address=user.email), "success")
    return redirect(url_for("auth.account" if current_user.is_authenticated else "auth.login"))


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> ResponseReturnValue:
    """The account and everything of it: books, API token, sessions and outbox rows
    (their foreign keys cascade), so an email still queued finds no row and is not sent."""
    form = DeleteAccountForm()
    if form.validate_on_submit() and _password_ok(form.current_password):
        user_id = _me().id
        logout_user()
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()
        flash(_("Your account and your books were deleted."), "info")
        return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return render_template("auth/delete_account.html", form=form), status
