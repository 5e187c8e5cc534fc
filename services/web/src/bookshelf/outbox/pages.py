"""The user's confirmation emails: where each one is, and "send again"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.forms import ConfirmForm
from bookshelf.outbox import queries
from bookshelf.outbox.resend import resend
from bookshelf.pagination import requested_page

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 25


@bp.before_request
@login_required
def require_login() -> None:
    """Only the owner sees their events."""


@bp.get("/")
def index() -> str:
    events = queries.event_page(current_user.id, requested_page(), PER_PAGE)
    return render_template(
        "notifications/index.html",
        events=events,
        in_flight=any(event.in_flight for event in events.items),
        form=ConfirmForm(),
    )


@bp.post("/<event_id>/retry")
def retry(event_id: str) -> Response:
    """Send a pending, failed or uncertain email again: same event, same Message-ID."""
    event = queries.owned_event(current_user.id, event_id)
    if event is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = resend(event)
    db.session.rollback()
    if outcome == "queued":
        flash(_("The confirmation email was queued."), "success")
    elif outcome == "not-resendable":
        flash(_("That email is already on its way or was sent."), "info")
    elif outcome == "invalid":
        flash(_("The confirmation email cannot be sent."), "error")
    else:
        flash(
            _("The confirmation email could not be queued yet; it will be retried automatically."),
            "warning",
        )
    return redirect(url_for("notifications.index"))
