"""The signed links of the account emails (itsdangerous): what each one proves, for how
long, and why it works once (docs/architecture.md, "Account emails").

A link carries the user id and a fingerprint of the state its use changes, signed with
SECRET_KEY and a salt per purpose, and timestamped. Using it changes that state, so the
same link then matches nothing: that is what makes it single-use, with nothing stored.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bookshelf.accounts.models import User
from bookshelf.extensions import db


class Purpose(StrEnum):
    VERIFY = "verify"  # the account's address (sign-up)
    CHANGE = "change"  # a new address, before it replaces the old one
    RESET = "reset"  # a new password


LIFETIME = {
    Purpose.VERIFY: timedelta(hours=24),
    Purpose.CHANGE: timedelta(hours=24),
    Purpose.RESET: timedelta(hours=1),
}


class LinkError(Exception):
    """The link is not one of ours, was used already, or expired (`expired`)."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"bookshelf.{purpose}")


def _fingerprint(purpose: Purpose, user: User) -> str:
    """What the use of a `purpose` link changes: the address to verify (set verified),
    the pending address (cleared), the password hash (replaced)."""
    if purpose is Purpose.VERIFY:
        state = f"{user.email}|{user.email_verified_at is not None}"
    elif purpose is Purpose.CHANGE:
        state = user.pending_email or ""
    else:
        state = user.password_hash
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def make_token(purpose: Purpose, user: User) -> str:
    return str(_serializer(purpose).dumps({"u": user.id, "f": _fingerprint(purpose, user)}))


def user_for_token(purpose: Purpose, token: str) -> User:
    """The user a link is for, if it is ours, fresh, and its state is unchanged."""
    try:
        data: Any = _serializer(purpose).loads(
            token, max_age=int(LIFETIME[purpose].total_seconds())
        )
    except SignatureExpired:
        raise LinkError(expired=True) from None
    except BadSignature:
        raise LinkError() from None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or data.get("f") != _fingerprint(purpose, user):
        raise LinkError()
    return user


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for an email. PUBLIC_URL, when set, is its origin: never the
    request's Host header, which whoever asks for a reset link would choose."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return str(base).rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
