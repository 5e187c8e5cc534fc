"""Who is an operator (sees every user's failed emails): a user made admin with
`flask user make-admin`, or one whose email is in ADMIN_EMAILS."""

from __future__ import annotations

from typing import Any

from flask import current_app


def is_admin(user: Any) -> bool:
    """`user`: Flask-Login's current_user (anonymous or a User)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin) or user.email in current_app.config["ADMIN_EMAILS"]
