"""The user account: typed SQLAlchemy 2 model and Flask-Login's loader."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from bookshelf.extensions import db, login_manager, utcnow

if TYPE_CHECKING:
    from bookshelf.library.models import Book

NAME_MAX = 100
EMAIL_MAX = 254


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # Stored lower-cased; the unique constraint settles a race between two sign-ups.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="es", server_default="es")
    # sha256 of the API token; the token itself is shown once and never stored.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_token_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    api_token_last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    books: Mapped[list[Book]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )

    def set_password(self, password: str) -> None:
        # Werkzeug's default method is scrypt.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


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
