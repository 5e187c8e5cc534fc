"""Sign-up, log-in, log-out (here or everywhere) and the account page (API token)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf.accounts import sessions, signup, tokens, users
from bookshelf.accounts.forms import LoginForm, PreferencesForm, RegisterForm
from bookshelf.accounts.preferences import browser_timezone_or_default
from bookshelf.forms import ConfirmForm
from bookshelf.safe_redirects import safe_next
from bookshelf.throttle import login_brake

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/register", methods=["GET", "POST"])
def register() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("books.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        # The same answer whether or not the address has an account (no enumeration);
        # its owner is told instead (accounts/signup.py).
        signup.register(
            form.name.data,
            form.email.data,
            form.password.data,
            str(get_locale()),
            browser_timezone_or_default(form.timezone.data),
        )
        return redirect(url_for("signup.check_inbox"))
    status = 422 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email = form.email.data or ""
        login_brake.check(email)  # LoginLocked: 429, the password is not even checked
        user = users.authenticate(email, form.password.data or "")
        if user is not None:
            sessions.log_in(user)
            return redirect(safe_next(form.next.data, url_for("books.index")))
        login_brake.record_failure(email)
        flash(_("Wrong email or password."), "error")
        return render_template("auth/login.html", form=form), 422
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@bp.post("/logout")
def logout() -> Response:
    if ConfirmForm().validate_on_submit():
        sessions.log_out()
        flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


def _preferences_form() -> PreferencesForm:
    return PreferencesForm(
        email_preference=current_user.email_preference,
        email_on_edit=current_user.email_on_edit,
        timezone=current_user.timezone,
    )


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere() -> Response:
    if ConfirmForm().validate_on_submit():
        sessions.end_all_sessions(current_user)
        flash(_("You have logged out on every device."), "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.account"))


@bp.get("/account")
@login_required
def account() -> str:
    new_token = sessions.take_reveal_token()
    return render_template(
        "auth/account.html",
        form=ConfirmForm(),
        preferences=_preferences_form(),
        new_token=new_token,
    )


@bp.post("/account/preferences")
@login_required
def save_preferences() -> Response | tuple[str, int]:
    preferences = PreferencesForm()
    if preferences.validate_on_submit():
        users.save_preferences(
            current_user,
            preferences.email_preference.data,
            preferences.timezone.data.strip(),
            bool(preferences.email_on_edit.data),
        )
        flash(_("Your preferences were saved."), "success")
        return redirect(url_for("auth.account"))
    page = render_template(
        "auth/account.html", form=ConfirmForm(), preferences=preferences, new_token=None
    )
    return page, 422


@bp.post("/account/token")
@login_required
def regenerate_token() -> Response:
    if ConfirmForm().validate_on_submit():
        # Shown by the GET this redirects to, once: a refresh neither shows it again nor
        # makes another one.
        sessions.set_reveal_token(tokens.regenerate(current_user))
    return redirect(url_for("auth.account"))


@bp.post("/account/token/revoke")
@login_required
def revoke_token() -> Response:
    if ConfirmForm().validate_on_submit():
        tokens.revoke(current_user)
        flash(_("Your API token no longer works."), "info")
    return redirect(url_for("auth.account"))
