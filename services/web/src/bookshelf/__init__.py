"""Bookshelf: a personal library. `create_app` is the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import get_locale, lazy_gettext
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from bookshelf import request_id
from bookshelf.config import ConfigError, load_settings
from bookshelf.extensions import babel, csrf, db, login_manager, migrate

__all__ = ["ConfigError", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(load_settings(test_config))
    request_id.configure_logging(app.config["LOG_LEVEL"])
    request_id.init_app(app)  # first, so every later hook's log lines carry the id
    # nginx in front sets X-Forwarded-For/-Proto/-Host once each.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    _init_extensions(app)
    _register_blueprints(app)

    from bookshelf import outbox
    from bookshelf.errors import register_error_handlers
    from bookshelf.i18n import return_path

    register_error_handlers(app)
    outbox.init_app(app)

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "csrf_token": generate_csrf,
            "return_path": return_path,
        }

    return app


def _init_extensions(app: Flask) -> None:
    from bookshelf import models
    from bookshelf.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> models.User | None:
        return db.session.get(models.User, int(user_id)) if user_id.isdigit() else None


def _register_blueprints(app: Flask) -> None:
    from bookshelf import api, auth, books, health, i18n

    for module in (health, auth, books, api, i18n):
        app.register_blueprint(module.bp)


def _migrations_dir() -> str:
    from pathlib import Path

    # services/web/migrations from an editable install, whatever the working directory;
    # otherwise (an installed wheel) Flask-Migrate's default, ./migrations.
    beside_source = Path(__file__).resolve().parents[2] / "migrations"
    return str(beside_source) if beside_source.is_dir() else "migrations"
