"""A brake on password guessing per account, beside nginx's per address: failed log-ins
on one email are counted per (email, client address) and per email from every address.
Past LOGIN_FAILURE_LIMITS for that address (5 a minute, 20 an hour) or
LOGIN_ACCOUNT_FAILURE_LIMITS from all of them (50 an hour, 100 a day: a guesser with
many addresses), log-ins on that email are refused for the rest of the window, right
password or not. The per-address part means that one guesser cannot lock the owner out
from elsewhere; a spread-out one can, and then the owner gets in through a password
reset, which clears both (`clear`). Keyed on the email as typed (normalised), so the
answer is the same whether or not an account exists."""

from __future__ import annotations

from flask import current_app, request
from limits import RateLimitItem, parse_many

from bookshelf.accounts.rules import normalize_email
from bookshelf.throttle import store


class LoginLocked(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed log-ins, retry after {retry_after} s")
        self.retry_after = retry_after


def _counters(email: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    """Each limit with the keys it counts under."""
    account = normalize_email(email) or email.strip().lower()
    address = request.remote_addr or "-"  # the client's, once ProxyFix read X-Forwarded-For
    config = current_app.config
    return [
        *(
            (item, ("login-failures", account, address))
            for item in parse_many(config["LOGIN_FAILURE_LIMITS"])
        ),
        *(
            (item, ("login-failures", account))
            for item in parse_many(config["LOGIN_ACCOUNT_FAILURE_LIMITS"])
        ),
    ]


def check(email: str) -> None:
    """LoginLocked while any window of failures for `email` is full."""
    for item, keys in _counters(email):
        if not store.allowed(item, *keys):
            raise LoginLocked(store.seconds_until_allowed(item, *keys))


def record_failure(email: str) -> None:
    for item, keys in _counters(email):
        store.hit(item, *keys)


def clear(email: str) -> None:
    """Forget the failures of `email` (every window; this request's address): the owner
    proved who they are (a password reset)."""
    for item, keys in _counters(email):
        store.clear(item, *keys)
