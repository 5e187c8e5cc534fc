"""What the status page says about an email that did not go out: an explanation in the
user's language, chosen from the state and the SMTP reply code at the start of the
stored reason (`last_error`, written in English by the worker or the relay, shown
beside it as the server's own words)."""

from __future__ import annotations

import re

from flask_babel import gettext as _

from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks.delivery import EmailStatus

_SMTP_CODE = re.compile(r"^([2-5])[0-9]{2}\b")


def smtp_class(reason: str | None) -> str | None:
    """'4' or '5' (the SMTP reply's class) when the reason starts with a reply code."""
    found = _SMTP_CODE.match(reason or "")
    return found.group(1) if found else None


def explanation(event: EmailEvent) -> str | None:
    """A translated sentence on why `event` is not sent yet, or None when there is
    nothing to explain (sent, or on its way with no problem so far)."""
    if event.last_error is None:
        return None
    state, code_class = event.state, smtp_class(event.last_error)
    if state is EmailStatus.PENDING:
        return _("The message queue could not be reached; it will be queued when it is back.")
    if state is EmailStatus.RETRYING:
        if code_class == "4":
            return _("The mail server asked to try again later; it will be retried.")
        return _("The mail server could not be reached; it will be retried.")
    if state is EmailStatus.UNCERTAIN:
        return _("The connection to the mail server was lost while the email was being sent.")
    if state is EmailStatus.FAILED:
        if code_class == "5":
            return _(
                "The mail server refused this email (for example, the address does not exist)."
            )
        if code_class == "4":
            return _("The mail server kept asking to try later, and the retries ran out.")
        return _("The email could not be sent, and it will not be retried by itself.")
    return None
