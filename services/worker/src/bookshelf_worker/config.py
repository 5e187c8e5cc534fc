"""Worker settings from the environment (and a `.env` file, which never overrides it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dotenv import find_dotenv, load_dotenv

from bookshelf_tasks.celery_config import TASK_SOFT_TIME_LIMIT
from bookshelf_tasks.delivery import Leases
from bookshelf_tasks.settings_env import ConfigError, flag, number

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REQUIRED = ("CELERY_BROKER_URL", "DATABASE_URL", "MAIL_SERVER", "MAIL_DEFAULT_SENDER")
DEFAULT_MAIL_TIMEOUT = 10.0


@dataclass(frozen=True)
class WorkerSettings:
    broker_url: str
    # The outbox's Postgres: the worker claims and records every email there.
    database_url: str = field(repr=False)  # carries the database password
    mail_server: str
    mail_default_sender: str
    mail_port: int = 25
    mail_username: str | None = None
    mail_password: str | None = field(default=None, repr=False)  # never logged
    mail_use_tls: bool = False
    mail_use_ssl: bool = False
    mail_timeout: float = DEFAULT_MAIL_TIMEOUT
    log_level: str = "INFO"
    leases: Leases = field(default_factory=Leases)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerSettings:
        if environ is None:
            load_dotenv(find_dotenv(usecwd=True))
            environ = os.environ
        env = {
            key: value
            for key, value in environ.items()
            if key.startswith(("MAIL_", "CELERY_")) or key in ("LOG_LEVEL", "DATABASE_URL")
        }
        missing = [name for name in REQUIRED if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(
                f"missing required setting(s): {', '.join(missing)}. "
                "Set them in the environment or in .env (see .env.example)."
            )
        settings = cls(
            broker_url=env["CELERY_BROKER_URL"].strip(),
            database_url=env["DATABASE_URL"].strip(),
            mail_server=env["MAIL_SERVER"].strip(),
            mail_default_sender=env["MAIL_DEFAULT_SENDER"].strip(),
            mail_port=number(env, "MAIL_PORT", 25, int),
            mail_username=env.get("MAIL_USERNAME") or None,
            mail_password=env.get("MAIL_PASSWORD") or None,
            mail_use_tls=flag(env, "MAIL_USE_TLS"),
            mail_use_ssl=flag(env, "MAIL_USE_SSL"),
            mail_timeout=number(env, "MAIL_TIMEOUT", DEFAULT_MAIL_TIMEOUT, float),
            log_level=env.get("LOG_LEVEL", "").strip().upper() or "INFO",
            leases=Leases.from_env(environ),
        )
        if settings.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if settings.mail_timeout >= TASK_SOFT_TIME_LIMIT:
            # Each SMTP step may take MAIL_TIMEOUT; one step must fit in a task run.
            raise ConfigError(f"MAIL_TIMEOUT must be below {TASK_SOFT_TIME_LIMIT} s")
        if settings.mail_use_tls and settings.mail_use_ssl:
            raise ConfigError("MAIL_USE_TLS and MAIL_USE_SSL exclude each other; set one")
        return settings

    def flask_config(self) -> dict[str, Any]:
        return {
            "MAIL_SERVER": self.mail_server,
            "MAIL_PORT": self.mail_port,
            "MAIL_USERNAME": self.mail_username,
            "MAIL_PASSWORD": self.mail_password,
            "MAIL_USE_TLS": self.mail_use_tls,
            "MAIL_USE_SSL": self.mail_use_ssl,
            "MAIL_DEFAULT_SENDER": self.mail_default_sender,
            "MAIL_TIMEOUT": self.mail_timeout,
            "BABEL_DEFAULT_LOCALE": "es",
            "BABEL_DEFAULT_TIMEZONE": "UTC",
        }
