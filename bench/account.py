"""A bench user: registered through the HTML forms (CSRF token included), with an API
token generated on the account page, as a person would: devstack's HTTP client, the one
the e2e and fault suites drive the app with."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.bookshelf_client import Account, BookshelfUser, unique_email
from devstack.mailbox import Mailbox

PASSWORD = "contraseña-larga-123"
# A bench account adds thousands of books in minutes: the per-account limits
# (docs/architecture.md, "Limits") would measure themselves, not the email pipeline.
# The stacks the benchmarks start raise them out of the way (LocalStack env_overrides).
UNLIMITED = {
    "EMAIL_BURST": "10000000",
    "EMAIL_DAILY_LIMIT": "10000000 per day",
    "API_RATE_LIMIT": "10000000 per minute",
}


@dataclass(frozen=True)
class BenchUser:
    email: str
    token: str


def register(base_url: str, label: str, mailbox: Mailbox) -> BenchUser:
    """A new account (its email locale Spanish), its address verified through the
    emailed link (else its book emails would wait), and its API token."""
    account = Account(f"Banco {label}", unique_email(f"bench-{label}"), PASSWORD)
    user = BookshelfUser(base_url, account, language="es")
    user.register(mailbox)
    return BenchUser(account.email, user.api_token())
