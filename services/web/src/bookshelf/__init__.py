"""Bookshelf: a personal library. `create_app` is the application factory.

App-wide modules sit here (config, extensions, errors, i18n, request_id, health, api,
forms, pagination, safe_redirects, text_rules); each feature is a package: accounts,
library, outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_babel import get_locale
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
    _register_features(app)

    from bookshelf.i18n import return_path

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "csrf_token": generate_csrf,
            "return_path": return_path,
        }

    @app.after_request
    def no_store(response: Response) -> Response:
        # Pages and API answers hold a user's data, tokens and CSRF secrets: no cache,
        # shared or private, may keep them. Static files are the exception (nginx serves
        # them, cached for an hour).
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def _init_extensions(app: Flask) -> None:
    # Every model, so that the metadata Flask-Migrate compares holds every table.
    from bookshelf.accounts import models as _accounts_models  # noqa: F401
    from bookshelf.i18n import select_locale
    from bookshelf.library import models as _library_models  # noqa: F401
    from bookshelf.outbox import models as _outbox_models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)


def _register_features(app: Flask) -> None:
    from bookshelf import accounts, api, health, i18n, library, outbox, throttle
    from bookshelf.errors import register_error_handlers

    register_error_handlers(app)
    throttle.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(i18n.bp)
    accounts.init_app(app)
    library.init_app(app)
    outbox.init_app(app)
    api.init_app(app)  # after the features: their API routes join its blueprint


def _migrations_dir() -> str:
    # services/web/migrations from an editable install, whatever the working directory;
    # otherwise (an installed wheel) Flask-Migrate's default, ./migrations.
    beside_source = Path(__file__).resolve().parents[2] / "migrations"
    return str(beside_source) if beside_source.is_dir() else "migrations"
