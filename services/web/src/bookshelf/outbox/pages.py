"""The user's confirmation emails: where each one is, and "send again"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.forms import ConfirmForm
from bookshelf.outbox import queries
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.reasons import explanation
from bookshelf.outbox.resend import ResendOutcome, resend
from bookshelf.pagination import past_the_end, requested_page
from bookshelf_tasks.delivery import EmailStatus, HoldReason

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 25
STATE_LABELS = {
    EmailStatus.PENDING: _l("Not queued yet — will retry automatically"),
    EmailStatus.QUEUED: _l("Queued, waiting to be sent"),
    EmailStatus.SENDING: _l("Sending"),
    EmailStatus.RETRYING: _l("The mail server did not answer; retrying"),
    EmailStatus.SENT: _l("Sent"),
    EmailStatus.FAILED: _l("Failed"),
    EmailStatus.UNCERTAIN: _l(
        "May not have arrived: the connection to the mail server was lost while it was being sent"
    ),
}
# Why a held email waits (its hold_reason), in place of its state.
HOLD_LABELS = {
    HoldReason.UNVERIFIED: _l("Waiting: verify your email address and it will be sent"),
    HoldReason.RATE_LIMITED: _l(
        "Waiting: many emails in a short time; this one goes out at the time below"
    ),
}
KIND_LABELS = {
    "added": _l("Book added"),
    "deleted": _l("Book deleted"),
    "edited": _l("Book edited"),
    "verify_address": _l("Verify your address"),
    "address_taken": _l("Sign-up attempt"),
    "password_reset": _l("Password reset"),
    "confirm_new_address": _l("New address"),
    "address_changed": _l("Address changed"),
    "digest": _l("Daily digest"),
    "import_summary": _l("Import finished"),
}
# What an email that is not about a book is about, from its public details and `to`
# (the address it goes to); never from a secret detail (a link).
SUMMARIES = {
    "verify_address": _l("Verification link for %(to)s"),
    "address_taken": _l("Someone tried to sign up with %(to)s"),
    "password_reset": _l("Password reset link for %(to)s"),
    "confirm_new_address": _l("Confirmation link for %(to)s"),
    "address_changed": _l("Notice to %(to)s: the address is now %(new_address)s"),
    "digest": _l("Your changes of %(day)s"),
    "import_summary": _l("Import of %(filename)s"),
}


def summary(event: EmailEvent) -> str:
    """The "About" cell: the book's title, or what the other email is about."""
    if event.book is not None:
        return str(event.book["title"] or "")
    template = SUMMARIES.get(event.kind)
    if template is None:
        return ""
    return str(template) % {**(event.details or {}), "to": event.payload.get("user_email", "")}


# While an email is in flight the page reloads itself (static/emails-reload.js), each
# time a little later, so a long broker or SMTP outage is not polled every 5 s for
# ever: about 8 minutes in all, then a "Reload" button. The count travels in the URL.
RELOAD_DELAYS_S = (5, 5, 5, 10, 10, 20, 30, 60, 60, 120, 120)


def reload_delay(reloads: int) -> int | None:
    """Seconds before the next self-reload after `reloads` of them; None: stop."""
    return RELOAD_DELAYS_S[reloads] if 0 <= reloads < len(RELOAD_DELAYS_S) else None


@bp.before_request
@login_required
def require_login() -> None:
    """Only the owner sees their events."""


@bp.get("/")
def index() -> Response | str:
    events = queries.event_page(current_user.id, requested_page(), PER_PAGE)
    last = past_the_end(events)
    if last is not None:
        return redirect(url_for("notifications.index", page=last))
    reloads = request.args.get("reloads", 0, type=int)
    in_flight = any(event.in_flight for event in events.items)
    return render_template(
        "notifications/index.html",
        events=events,
        in_flight=in_flight,
        reload_after=reload_delay(reloads) if in_flight else None,
        next_reloads=reloads + 1,
        form=ConfirmForm(),
        state_labels=STATE_LABELS,
        hold_labels=HOLD_LABELS,
        kind_labels=KIND_LABELS,
        summary=summary,
        explanation=explanation,
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
    if outcome is ResendOutcome.QUEUED:
        flash(_("The confirmation email was queued."), "success")
    elif outcome is ResendOutcome.HELD:
        flash(_("That email waits until your address is verified."), "info")
    elif outcome is ResendOutcome.NOT_RESENDABLE:
        flash(_("That email is already on its way or was sent."), "info")
    elif outcome is ResendOutcome.INVALID:
        flash(_("The confirmation email cannot be sent."), "error")
    else:
        flash(
            _("The confirmation email could not be queued yet; it will be retried automatically."),
            "warning",
        )
    return redirect(url_for("notifications.index"))
