"""Per-user API tokens: shown once, stored only as a sha256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from bookshelf.accounts.models import User
from bookshelf.extensions import db

PREFIX = "bks_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def regenerate(user: User) -> str:
    """Give `user` a new token (the old one stops working) and return it in clear."""
    token = PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = token_hash(token)
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    return db.session.scalar(select(User).where(User.api_token_hash == token_hash(token)))
