"""The user's confirmation emails (outbox events), their state, and a retry button."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf import notifications, queries
from bookshelf.forms import ConfirmForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 25


@bp.before_request
@login_required
def require_login() -> None:
    """Only the owner sees their events."""


@bp.get("/")
def index() -> str:
    page = max(request.args.get("page", 1, type=int), 1)
    events = queries.event_page(current_user.id, page, PER_PAGE)
    states = {event.id: notifications.delivery_state(event) for event in events.items}
    return render_template(
        "notifications/index.html", events=events, states=states, form=ConfirmForm()
    )


@bp.post("/<event_id>/retry")
def retry(event_id: str) -> Response:
    event = queries.owned_event(current_user.id, event_id[:36])
    if event is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if event.status != "pending":
        flash(_("That email is already queued."), "info")
    elif notifications.dispatch(event):
        flash(_("The confirmation email was queued."), "success")
    else:
        flash(_("The confirmation email could not be queued yet. Try again later."), "warning")
    return redirect(url_for("notifications.index"))
