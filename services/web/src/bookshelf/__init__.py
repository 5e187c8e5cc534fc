"""Bookshelf: a personal library. `create_app` is the application factory.

App-wide modules sit here (config, extensions, errors, i18n, request_id, health, api,
forms, pagination, safe_redirects, text_rules); each feature is a package: accounts,
library, outbox, transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from bookshelf import metrics, request_id
from bookshelf.config import ConfigError, load_settings
from bookshelf.extensions import babel, csrf, db, login_manager, migrate
from bookshelf_tasks.error_tracking import init_sentry

__all__ = ["ConfigError", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(load_settings(test_config))
    request_id.configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    request_id.init_app(app)  # first, so every later hook's log lines carry the id
    metrics.init_app(app)
    _init_error_tracking(app)
    # nginx in front sets X-Forwarded-For/-Proto/-Host once each.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    _init_extensions(app)
    _register_features(app)

    from bookshelf.accounts.admins import is_admin
    from bookshelf.i18n import isolated, return_path

    app.add_template_filter(isolated, "bdi")

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "csrf_token": generate_csrf,
            "return_path": return_path,
            "is_admin": is_admin,
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


def _init_error_tracking(app: Flask) -> None:
    """Sentry, only when SENTRY_DSN is set (imported only then: it patches Flask)."""
    if not app.config.get("SENTRY_DSN"):
        return
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    init_sentry(app.config, [FlaskIntegration(), CeleryIntegration()], component="web")


def _init_extensions(app: Flask) -> None:
    # Every model, so that the metadata Flask-Migrate compares holds every table.
    from bookshelf.accounts import models as _accounts_models  # noqa: F401
    from bookshelf.accounts.preferences import select_timezone
    from bookshelf.i18n import select_locale
    from bookshelf.library import activity as _activity_models  # noqa: F401
    from bookshelf.library import models as _library_models  # noqa: F401
    from bookshelf.outbox import models as _outbox_models  # noqa: F401
    from bookshelf.transfer import jobs as _transfer_models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)


def _register_features(app: Flask) -> None:
    from bookshelf import accounts, api, api_docs, health, i18n, library, outbox, throttle, transfer
    from bookshelf.errors import register_error_handlers

    register_error_handlers(app)
    throttle.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(i18n.bp)
    accounts.init_app(app)
    library.init_app(app)
    outbox.init_app(app)
    transfer.init_app(app)
    api.init_app(app)  # after the features: their API routes join its blueprint
    app.register_blueprint(api_docs.bp)


def _migrations_dir() -> str:
    # services/web/migrations from an editable install, whatever the working directory;
    # otherwise (an installed wheel) Flask-Migrate's default, ./migrations.
    beside_source = Path(__file__).resolve().parents[2] / "migrations"
    return str(beside_source) if beside_source.is_dir() else "migrations"
