"""A brake on password guessing per account, beside nginx's per address: after
LOGIN_FAILURE_LIMITS failed log-ins on one email (e.g. 5 a minute, 20 an hour, 50 a
day, each window longer than the last), log-ins on it are refused for the rest of the
window, right password or not. Keyed on the email as typed (normalised), so it answers
the same whether or not an account exists. A password reset clears it (`clear`)."""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItem, parse_many

from bookshelf.accounts.rules import normalize_email
from bookshelf.throttle import store


class LoginLocked(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed log-ins, retry after {retry_after} s")
        self.retry_after = retry_after


def _limits() -> list[RateLimitItem]:
    return list(parse_many(current_app.config["LOGIN_FAILURE_LIMITS"]))


def _key(email: str) -> str:
    return normalize_email(email) or email.strip().lower()


def check(email: str) -> None:
    """LoginLocked while any window of failures for `email` is full."""
    for item in _limits():
        if not store.allowed(item, "login-failures", _key(email)):
            raise LoginLocked(store.seconds_until_allowed(item, "login-failures", _key(email)))


def record_failure(email: str) -> None:
    for item in _limits():
        store.hit(item, "login-failures", _key(email))


def clear(email: str) -> None:
    """Forget the failures: the owner proved who they are (a password reset)."""
    for item in _limits():
        store.clear(item, "login-failures", _key(email))
