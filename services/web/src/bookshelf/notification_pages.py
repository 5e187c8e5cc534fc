"""The user's confirmation emails (outbox events), their state, and a retry button."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf import notifications, queries
from bookshelf.extensions import db
from bookshelf.forms import ConfirmForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 25


@bp.before_request
@login_required
def require_login() -> None:
    """Only the owner sees their events."""


@bp.get("/")
def index() -> str:
    page = queries.clamp_page(request.args.get("page", 1, type=int))
    events = queries.event_page(current_user.id, page, PER_PAGE)
    states = notifications.delivery_states(events.items)
    return render_template(
        "notifications/index.html", events=events, states=states, form=ConfirmForm()
    )


@bp.post("/<event_id>/retry")
def retry(event_id: str) -> Response:
    """Queue a 'pending' or 'failed' event again: same event id, so same Message-ID."""
    if queries.owned_event(current_user.id, event_id[:36]) is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    event = queries.owned_event(current_user.id, event_id[:36], lock=True)
    if event is None or event.status == "queued":  # None: a relay is queueing it right now
        db.session.rollback()
        flash(_("That email is already queued."), "info")
    elif event.status == "sent":
        db.session.rollback()
        flash(_("That email was already sent."), "info")
    elif notifications.dispatch(event):
        flash(_("The confirmation email was queued."), "success")
    elif event.status == "failed":  # its payload is invalid: no retry will help
        flash(
            _("The confirmation email cannot be sent: %(reason)s", reason=event.last_error), "error"
        )
    else:
        flash(
            _("The confirmation email could not be queued yet; it will be retried automatically."),
            "warning",
        )
    return redirect(url_for("notifications.index"))
