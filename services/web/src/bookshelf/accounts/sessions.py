"""Server-side login sessions: the signed cookie carries a random secret, Postgres the
row that makes it valid. Logging out deletes the row, so a copy of the cookie is refused
afterwards (docs/architecture.md, "Sessions")."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select

from bookshelf.accounts.models import LoginSession, User
from bookshelf.extensions import db

SESSION_KEY = "sid"
# A session ends by itself this long after its log-in, closed browser or not: the cookie
# dies with the browser, its row would otherwise stay valid for ever.
SESSION_LIFETIME = timedelta(days=30)
# What survives a log-in or log-out: the visitor's explicit language choice.
_KEPT_KEYS = ("locale",)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def current_session_id() -> str | None:
    """The sha256 of this browser's session secret, or None when it has none."""
    secret = session.get(SESSION_KEY)
    return _digest(secret) if isinstance(secret, str) and secret else None


def current_session_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user, only while this browser's session row exists."""
    session_id = current_session_id()
    if not user_id.isdigit() or session_id is None:
        return None
    return db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == int(user_id), LoginSession.id == session_id)
        .where(LoginSession.created_at > datetime.now(UTC) - SESSION_LIFETIME)
    )


def _fresh_cookie() -> None:
    """Drop everything but the kept keys: the CSRF secret too, so it rotates."""
    kept = {key: session[key] for key in _KEPT_KEYS if key in session}
    session.clear()
    session.update(kept)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def new_session(user_id: int) -> str:
    """A session row for `user_id` (committed); the secret its cookie must carry."""
    secret = secrets.token_urlsafe(32)
    expired = datetime.now(UTC) - SESSION_LIFETIME
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user_id, LoginSession.created_at <= expired
        )
    )
    db.session.add(LoginSession(id=_digest(secret), user_id=user_id))
    db.session.commit()
    return secret


def log_in(user: User) -> None:
    """Start a new session for `user` in this browser, with a new CSRF secret."""
    _fresh_cookie()
    session[SESSION_KEY] = new_session(user.id)
    login_user(user)


def log_out() -> None:
    """End this browser's session: its row goes, a copied cookie is refused."""
    session_id = current_session_id()
    if session_id is not None:
        db.session.execute(delete(LoginSession).where(LoginSession.id == session_id))
        db.session.commit()
    logout_user()
    _fresh_cookie()


def end_other_sessions(user: User) -> int:
    """End every session of `user` except this browser's (after a password change or
    reset); how many ended."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    session_id = current_session_id()
    if session_id is not None:
        query = query.where(LoginSession.id != session_id)
    ended = db.session.execute(query).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    return int(ended)


def end_all_sessions(user: User) -> int:
    """ "Log out everywhere": every session of `user`, this one included."""
    ended = db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    db.session.commit()
    logout_user()
    _fresh_cookie()
    return int(ended.rowcount)  # type: ignore[attr-defined]


def set_reveal_token(token: str) -> None:
    """Keep a new API token for the one page that shows it (POST-redirect-GET)."""
    row = db.session.get(LoginSession, current_session_id())
    if row is not None:
        row.reveal_token = token
        db.session.commit()


def take_reveal_token() -> str | None:
    """The token kept by set_reveal_token, once: a refresh shows it no more."""
    session_id = current_session_id()
    if session_id is None:
        return None
    row = db.session.get(LoginSession, session_id)
    if row is None or row.reveal_token is None:
        return None
    token, row.reveal_token = row.reveal_token, None
    db.session.commit()
    return token
