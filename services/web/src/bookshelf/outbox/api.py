"""/api/v1/emails: where each confirmation email is, and "send again" (resend.py)."""

from __future__ import annotations

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bookshelf.api import api_user, bp, found_or_404, page_response, requested_page
from bookshelf.errors import ApiError
from bookshelf.outbox import queries
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.pages import PER_PAGE
from bookshelf.outbox.resend import ResendOutcome, resend


def _owned_event_or_404(event_id: str) -> EmailEvent:
    return found_or_404(queries.owned_event(api_user().id, event_id), _("No such email."))


@bp.get("/emails")
def list_emails() -> ResponseReturnValue:
    page, per_page = requested_page(PER_PAGE)
    return page_response(queries.event_page(api_user().id, page, per_page), page, per_page)


@bp.get("/emails/<event_id>")
def get_email(event_id: str) -> ResponseReturnValue:
    return jsonify(_owned_event_or_404(event_id).to_dict())


@bp.post("/emails/<event_id>/resend")
def resend_email(event_id: str) -> ResponseReturnValue:
    """202 once it is on the queue again. A failed, uncertain or pending email only:
    one sent or on its way is a 409, so that a retried call cannot double it."""
    event = _owned_event_or_404(event_id)
    outcome = resend(event)
    if outcome is ResendOutcome.HELD:
        raise ApiError(409, _("That email waits until your address is verified."))
    if outcome is ResendOutcome.NOT_RESENDABLE:
        raise ApiError(409, _("That email is already on its way or was sent."))
    if outcome is ResendOutcome.INVALID:
        raise ApiError(500, _("The confirmation email cannot be sent."))
    if outcome is ResendOutcome.BROKER_DOWN:
        raise ApiError(
            503,
            _("The confirmation email could not be queued yet; it will be retried automatically."),
        )
    response = jsonify(event.to_dict())  # read again: queued, or already claimed
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_email", event_id=event.id)
    return response
