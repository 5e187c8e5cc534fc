"""Accounts: sign-up, log-in and log-out, the account page and its API token.

models.py (User), rules.py (name, email, password), users.py (registration, the
credentials check), tokens.py (API tokens), forms.py, auth.py (the `auth` pages).
The account emails (docs/architecture.md, "Account emails"): signup.py (no enumeration),
links.py (signed single-use links), mailing.py (the emails, one per interval),
verification.py, recovery.py (password reset), settings.py (change password or
address, delete the account), lifecycle_forms.py. preferences.py (email preference,
time zone), api.py (/api/v1/account), digest_cli.py.
admins.py (who is an operator) and cli.py (`flask user make-admin`).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from bookshelf.extensions import login_manager


def init_app(app: Flask) -> None:
    from bookshelf.accounts import auth, recovery, settings, signup, verification
    from bookshelf.accounts.cli import user_cli
    from bookshelf.accounts.digest_cli import digest_cli
    from bookshelf.accounts.preferences import local_datetime

    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"
    app.register_blueprint(auth.bp)
    for blueprint in (signup.bp, verification.bp, recovery.bp, settings.bp):
        app.register_blueprint(blueprint)
    app.add_template_filter(local_datetime, "local_datetime")
    app.cli.add_command(digest_cli)
    app.cli.add_command(user_cli)
