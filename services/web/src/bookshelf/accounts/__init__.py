"""Accounts: sign-up, log-in and log-out, the account page and its API token.

models.py (User), rules.py (name, email, password), users.py (registration, the
credentials check), tokens.py (API tokens), forms.py, auth.py (the `auth` pages),
admins.py (who is an operator) and cli.py (`flask user make-admin`).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from bookshelf.extensions import login_manager


def init_app(app: Flask) -> None:
    from bookshelf.accounts import auth
    from bookshelf.accounts.cli import user_cli

    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"
    app.register_blueprint(auth.bp)
    app.cli.add_command(user_cli)
