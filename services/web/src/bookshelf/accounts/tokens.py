"""Per-user API tokens: shown once, stored only as a sha256 hash, with when it was made
and last used; revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from bookshelf.accounts.models import User
from bookshelf.extensions import db

PREFIX = "bks_"
# "Last used" is as precise as this: one write per token per minute at most, not per call.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def regenerate(user: User) -> str:
    """Give `user` a new token (the old one stops working) and return it in clear."""
    token = PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = token_hash(token)
    user.api_token_created_at = datetime.now(UTC)
    user.api_token_last_used_at = None
    db.session.commit()
    return token


def revoke(user: User) -> None:
    user.api_token_hash = None
    user.api_token_created_at = None
    user.api_token_last_used_at = None
    db.session.commit()


def user_for_token(token: str) -> User | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    return db.session.scalar(select(User).where(User.api_token_hash == token_hash(token)))


def mark_used(user: User) -> None:
    """Record the token's use, unless it was recorded within LAST_USED_PRECISION."""
    now = datetime.now(UTC)
    done = db.session.execute(
        update(User)
        .where(User.id == user.id, User.api_token_hash == user.api_token_hash)
        .where(
            or_(
                User.api_token_last_used_at.is_(None),
                User.api_token_last_used_at < now - LAST_USED_PRECISION,
            )
        )
        .values(api_token_last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        db.session.commit()
        user.api_token_last_used_at = now
