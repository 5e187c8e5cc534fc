"""Settings from the environment (and `.env`, through python-dotenv).

A required setting that is missing stops start-up with a message that names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dotenv import find_dotenv, load_dotenv
from limits import parse_many

from bookshelf_tasks.delivery import Leases
from bookshelf_tasks.logs import log_format
from bookshelf_tasks.settings_env import ConfigError, flag, number

ONE_MIB = 1024 * 1024
REQUIRED = {
    "SECRET_KEY": "SECRET_KEY",
    "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
    "CELERY_BROKER_URL": "CELERY_BROKER_URL",
}


def database_uri(url: str | None) -> str | None:
    """Accept the `postgres://` spelling some hosts hand out; SQLAlchemy needs a dialect."""
    if url and url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgres://")
    if url and url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url or None


def admin_emails(raw: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


def rate_limit(environ: Mapping[str, str], name: str, default: str) -> str:
    """A limit in the `limits` notation ("300 per day; 20 per hour"), checked at start-up."""
    value = environ.get(name, "").strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be like '300 per day', got {value!r}") from None
    return value


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment gives; ConfigError names a malformed one."""
    secure = flag(environ, "SESSION_COOKIE_SECURE")
    return {
        "SECRET_KEY": environ.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_uri(environ.get("DATABASE_URL")),
        # The email queue (KeyDB, Redis protocol).
        "CELERY_BROKER_URL": environ.get("CELERY_BROKER_URL") or None,
        "OUTBOX_LEASES": Leases.from_env(environ),
        "MAX_CONTENT_LENGTH": number(environ, "MAX_CONTENT_LENGTH", ONE_MIB, int, positive=False),
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": log_format(environ),
        # Optional error tracking (bookshelf_tasks.error_tracking); off when empty.
        "SENTRY_DSN": environ.get("SENTRY_DSN", "").strip() or None,
        "SENTRY_ENVIRONMENT": environ.get("SENTRY_ENVIRONMENT", "").strip() or None,
        # Who sees the dead-letter page (admin/), besides users made admin by
        # `flask user make-admin`: a comma-separated list of emails.
        "ADMIN_EMAILS": admin_emails(environ.get("ADMIN_EMAILS", "")),
        "SESSION_COOKIE_SECURE": secure,
        # The origin of the links in account emails; unset, the request's (dev only:
        # a Host header is the requester's choice).
        "PUBLIC_URL": environ.get("PUBLIC_URL") or None,
        "ACCOUNT_EMAIL_INTERVAL": number(environ, "ACCOUNT_EMAIL_INTERVAL_SECONDS", 300, int),
        "REMEMBER_COOKIE_SECURE": secure,
        # The limits (bookshelf.throttle; docs/architecture.md, "Limits"). Their storage
        # defaults to the broker.
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI") or None,
        "EMAIL_BURST": number(environ, "EMAIL_BURST", 60, int),
        "EMAIL_PER_HOUR": number(environ, "EMAIL_PER_HOUR", 30.0, float),
        "EMAIL_MAX_DELAY_SECONDS": number(
            environ, "EMAIL_MAX_DELAY_SECONDS", 3600, int, positive=False
        ),
        "EMAIL_DAILY_LIMIT": rate_limit(environ, "EMAIL_DAILY_LIMIT", "300 per day"),
        "LOGIN_FAILURE_LIMITS": rate_limit(
            environ, "LOGIN_FAILURE_LIMITS", "5 per minute; 20 per hour"
        ),
        "LOGIN_ACCOUNT_FAILURE_LIMITS": rate_limit(
            environ, "LOGIN_ACCOUNT_FAILURE_LIMITS", "50 per hour; 100 per day"
        ),
        "API_RATE_LIMIT": rate_limit(environ, "API_RATE_LIMIT", "300 per minute"),
    }


DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SQLALCHEMY_ENGINE_OPTIONS": {
        # No pre-ping (a round trip per request): a connection Postgres dropped fails
        # its request with a 503 (errors.py) and SQLAlchemy then replaces the whole
        # pool. No automatic retry of that request: its COMMIT may have happened.
        # pool_recycle retires connections before a firewall or proxy idles them out.
        "pool_recycle": 300,
        "connect_args": {"connect_timeout": 5},
    },
    "BABEL_DEFAULT_LOCALE": "es",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "LANGUAGES": ("es", "en"),
    "BOOKS_PER_PAGE": 20,
    "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session
    "RATELIMIT_KEY_PREFIX": "bookshelf",
    "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Flask-Limiter would put its Retry-After on every answer (a 200, a 503 with its own):
    # under its own name there; the 429s carry the real one (throttle/errors.py).
    "RATELIMIT_HEADER_RETRY_AFTER": "X-RateLimit-Retry-After",
    # The broker down: count in the process instead, and never fail a request for it.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
}


def load_settings(test_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then `test_config`; fail on a missing requirement."""
    load_dotenv(find_dotenv(usecwd=True))
    settings = {**DEFAULTS, **settings_from_env(os.environ), **(test_config or {})}
    settings["RATELIMIT_STORAGE_URI"] = settings.get("RATELIMIT_STORAGE_URI") or settings.get(
        "CELERY_BROKER_URL"
    )
    missing = [env for key, env in REQUIRED.items() if not settings.get(key)]
    if missing:
        raise ConfigError(
            f"Missing required setting(s): {', '.join(missing)}. "
            "Set them in the environment or in .env (see .env.example)."
        )
    return settings
