"""Decoded MIME parts of a MailHog message.

devstack.mailhog.Email.part parses the raw text as a str, and the stdlib then turns
every non-ASCII byte of an 8bit part into U+FFFD. MailHog's Raw.Data is the SMTP data
as sent, so it is parsed here as the UTF-8 bytes it was.
"""

from __future__ import annotations

import email
from email import policy

from devstack.mailhog import Email


def part(message: Email, content_type: str) -> str:
    raw = str(message.raw["Raw"]["Data"]).encode("utf-8", "surrogateescape")
    parsed = email.message_from_bytes(raw, policy=policy.default)
    for candidate in parsed.walk():
        if candidate.get_content_type() == content_type:
            return str(candidate.get_content())
    raise KeyError(f"no {content_type} part in {message.subject!r}")
