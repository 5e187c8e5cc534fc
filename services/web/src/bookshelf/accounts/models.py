"""The user account: typed SQLAlchemy 2 model and Flask-Login's loader."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from bookshelf.extensions import db, login_manager, utcnow
from bookshelf_tasks.digest import EmailPreference

if TYPE_CHECKING:
    from bookshelf.library.models import Book

NAME_MAX = 100
EMAIL_MAX = 254
TIMEZONE_MAX = 64
_PREFERENCES = ", ".join(f"'{preference}'" for preference in EmailPreference)


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"email_preference IN ({_PREFERENCES})", name="email_preference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # Stored lower-cased; the unique constraint settles a race between two sign-ups.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="es", server_default="es")
    email_preference: Mapped[str] = mapped_column(
        String(10), default=EmailPreference.EACH.value, server_default=EmailPreference.EACH.value
    )
    # Also an email for each edit of a book (with `each` only; off by default).
    email_on_edit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # An IANA name (accounts/preferences.py checks it); every date is shown in it.
    timezone: Mapped[str] = mapped_column(String(TIMEZONE_MAX), default="UTC", server_default="UTC")
    # sha256 of the API token; the token itself is shown once and never stored.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_token_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    api_token_last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when the owner followed the verification link; until then book emails wait.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A new address asked for, not verified yet: it replaces `email` once it is.
    pending_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    # When each account email last went out: one per interval (accounts/mailing.py).
    verify_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reset_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signup_notice_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Sees every user's failed emails (the dead-letter page). Set by
    # `flask user make-admin`; ADMIN_EMAILS names admins too (accounts.admins).
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    books: Mapped[list[Book]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def emails(self) -> EmailPreference:
        return EmailPreference(self.email_preference)

    def set_password(self, password: str) -> None:
        # Werkzeug's default method is scrypt.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def verified(self) -> bool:
        return self.email_verified_at is not None


class LoginSession(db.Model):  # type: ignore[name-defined]
    """One logged-in browser: the cookie holds the secret, this row its sha256. Deleting
    the row ends that session (docs/architecture.md, "Sessions")."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A new API token, in clear, between its POST and the one page that shows it.
    reveal_token: Mapped[str | None] = mapped_column(String(200))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    from bookshelf.accounts.sessions import current_session_user

    return current_session_user(user_id)
