"""The operator's dead-letter page: every user's failed (or uncertain) emails, with the
reason, age and attempts. Admins only (accounts.admins); anyone else gets a 404, as for
a page that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from bookshelf.accounts.admins import is_admin
from bookshelf.outbox.dead_letters import dead_letter_page
from bookshelf.outbox.pages import KIND_LABELS, summary
from bookshelf.pagination import requested_page
from bookshelf_tasks.delivery import DEAD_LETTERS, EmailStatus

assert set(DEAD_LETTERS) == {EmailStatus.FAILED, EmailStatus.UNCERTAIN}

bp = Blueprint("dead_letters", __name__, url_prefix="/admin/emails")
PER_PAGE = 50
TABS = {EmailStatus.FAILED: _l("Not delivered"), EmailStatus.UNCERTAIN: _l("Maybe delivered")}


@bp.before_request
@login_required
def require_admin() -> None:
    if not is_admin(current_user):
        abort(404)


@bp.get("/")
def index() -> str:
    wanted = request.args.get("status", EmailStatus.FAILED.value)
    status = EmailStatus(wanted) if wanted in TABS else EmailStatus.FAILED
    found = dead_letter_page(status, requested_page(), PER_PAGE)
    return render_template(
        "admin/emails.html",
        events=found.events,
        owners=found.owners,
        status=status,
        tabs=TABS,
        now=datetime.now(UTC),
        kind_labels=KIND_LABELS,
        summary=summary,
    )
