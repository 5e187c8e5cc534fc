"""Worker settings from the environment (and a `.env` file, which never overrides it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dotenv import find_dotenv, load_dotenv

from bookshelf_tasks.celery_config import TASK_SOFT_TIME_LIMIT
from bookshelf_tasks.delivery import LEASES, Leases
from bookshelf_tasks.logs import log_format
from bookshelf_tasks.metrics_http import metrics_bind
from bookshelf_tasks.settings_env import ConfigError, flag, number

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REQUIRED = ("CELERY_BROKER_URL", "DATABASE_URL", "MAIL_SERVER", "MAIL_DEFAULT_SENDER")
DEFAULT_MAIL_TIMEOUT = 10.0
# The whole of one send: opening a connection if needed, MAIL, RCPT, DATA and its reply
# (smtp_pool.SendDeadline). Within the task's soft time limit, so that both pools bound
# a send alike, and shorter than the claim's lease (Leases.send, 60 s), so that no send
# is still running when the relay may hand its event to another attempt.
DEFAULT_MAIL_SEND_DEADLINE = 25.0
assert DEFAULT_MAIL_TIMEOUT <= DEFAULT_MAIL_SEND_DEADLINE <= TASK_SOFT_TIME_LIMIT
assert LEASES.send.total_seconds() > DEFAULT_MAIL_SEND_DEADLINE
# The worker's pool (`celery worker --pool`, --concurrency), read from the same
# variables by the command (services/worker/entrypoint.sh, devstack/worker.py) and by
# the app, which sizes its database pool for it. Threads: a send is ~all waiting on
# SMTP and Postgres, and a thread costs far less than a process (docs/architecture.md,
# "Worker pool").
POOLS = ("threads", "prefork", "solo")
DEFAULT_POOL = "threads"
DEFAULT_CONCURRENCY = 32


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
    mail_send_deadline: float = DEFAULT_MAIL_SEND_DEADLINE
    pool: str = DEFAULT_POOL
    concurrency: int = DEFAULT_CONCURRENCY
    log_level: str = "INFO"
    log_format: str = "text"  # LOG_FORMAT: text or json (bookshelf_tasks.logs)
    leases: Leases = field(default_factory=Leases)
    metrics_bind: tuple[str, int] | None = None  # METRICS_BIND (bookshelf_worker.metrics)
    sentry_dsn: str | None = field(default=None, repr=False)  # SENTRY_DSN; off when None
    sentry_environment: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerSettings:
        if environ is None:
            load_dotenv(find_dotenv(usecwd=True))
            environ = os.environ
        env = {
            key: value
            for key, value in environ.items()
            if key.startswith(("MAIL_", "CELERY_", "SENTRY_"))
            or key in ("LOG_LEVEL", "LOG_FORMAT", "DATABASE_URL", "METRICS_BIND")
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
            mail_send_deadline=number(env, "MAIL_SEND_DEADLINE", DEFAULT_MAIL_SEND_DEADLINE, float),
            pool=env.get("CELERY_WORKER_POOL", "").strip().lower() or DEFAULT_POOL,
            concurrency=number(env, "CELERY_WORKER_CONCURRENCY", DEFAULT_CONCURRENCY, int),
            log_level=env.get("LOG_LEVEL", "").strip().upper() or "INFO",
            log_format=log_format(env),
            leases=Leases.from_env(environ),
            metrics_bind=metrics_bind(env),
            sentry_dsn=env.get("SENTRY_DSN", "").strip() or None,
            sentry_environment=env.get("SENTRY_ENVIRONMENT", "").strip() or None,
        )
        if settings.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if settings.pool not in POOLS:
            raise ConfigError(f"CELERY_WORKER_POOL must be one of {', '.join(POOLS)}")
        settings.check_deadlines()
        if settings.mail_use_tls and settings.mail_use_ssl:
            raise ConfigError("MAIL_USE_TLS and MAIL_USE_SSL exclude each other; set one")
        return settings

    def check_deadlines(self) -> None:
        """MAIL_TIMEOUT <= MAIL_SEND_DEADLINE <= the soft time limit, and < the lease."""
        if self.mail_timeout > self.mail_send_deadline:
            # Each SMTP step may take MAIL_TIMEOUT; one step must fit in a send.
            raise ConfigError(
                f"MAIL_TIMEOUT ({self.mail_timeout:g} s) must not exceed "
                f"MAIL_SEND_DEADLINE ({self.mail_send_deadline:g} s)"
            )
        if self.mail_send_deadline > TASK_SOFT_TIME_LIMIT:
            raise ConfigError(f"MAIL_SEND_DEADLINE must be at most {TASK_SOFT_TIME_LIMIT} s")
        lease = self.leases.send.total_seconds()
        if self.mail_send_deadline >= lease:
            # A send still running when its lease ends could race the attempt the
            # relay starts then (fencing keeps the row right, not the mailbox).
            raise ConfigError(
                f"MAIL_SEND_DEADLINE ({self.mail_send_deadline:g} s) must be shorter than "
                f"OUTBOX_SEND_LEASE_SECONDS ({lease:g} s)"
            )

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
            "MAIL_SEND_DEADLINE": self.mail_send_deadline,
            "BABEL_DEFAULT_LOCALE": "es",
            "BABEL_DEFAULT_TIMEZONE": "UTC",
        }
