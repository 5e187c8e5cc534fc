from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bookshelf_tasks.celery_config import celery_settings
from bookshelf_worker.app import create_app
from bookshelf_worker.config import ConfigError, WorkerSettings

BASE = {
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql+psycopg2://bookshelf:db-s3cret@127.0.0.1:5432/bookshelf",
    "MAIL_SERVER": "smtp.example.com",
    "MAIL_DEFAULT_SENDER": "Bookshelf <no-reply@example.com>",
}


def test_defaults_and_parsing() -> None:
    settings = WorkerSettings.from_env(
        {
            **BASE,
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "true",
            "MAIL_TIMEOUT": "2.5",
            "MAIL_USERNAME": "bookshelf",
            "MAIL_PASSWORD": "s3cret-value",
        }
    )
    assert (settings.mail_port, settings.mail_use_tls, settings.mail_use_ssl) == (2525, True, False)
    assert settings.mail_timeout == 2.5
    assert settings.database_url == BASE["DATABASE_URL"]
    assert "s3cret-value" not in repr(settings) and "db-s3cret" not in repr(settings)
    assert WorkerSettings.from_env(BASE).mail_timeout == 10.0
    assert WorkerSettings.from_env({**BASE, "LOG_LEVEL": "debug"}).log_level == "DEBUG"


@pytest.mark.parametrize("missing", sorted(BASE))
def test_missing_required_setting_is_named(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        WorkerSettings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAIL_PORT", "smtp"),
        ("MAIL_PORT", "-1"),
        ("MAIL_TIMEOUT", "0"),
        ("MAIL_USE_TLS", "maybe"),
        ("MAIL_USE_SSL", "2"),
        ("MAIL_TIMEOUT", "30"),  # must fit in the send deadline
        ("MAIL_SEND_DEADLINE", "5"),  # shorter than one MAIL_TIMEOUT (10 s)
        ("MAIL_SEND_DEADLINE", "31"),  # longer than the task's soft time limit
        ("CELERY_WORKER_POOL", "gevent"),
        ("CELERY_WORKER_CONCURRENCY", "0"),
        ("CELERY_WORKER_CONCURRENCY", "many"),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        WorkerSettings.from_env({**BASE, name: value})


def test_pool_and_send_deadline() -> None:
    settings = WorkerSettings.from_env(BASE)
    assert (settings.pool, settings.concurrency, settings.mail_send_deadline) == ("threads", 32, 25)
    # Shorter than the claim's lease, so a send never outlives it.
    assert settings.mail_send_deadline < settings.leases.send.total_seconds()
    settings = WorkerSettings.from_env(
        {
            **BASE,
            "CELERY_WORKER_POOL": "prefork",
            "CELERY_WORKER_CONCURRENCY": "4",
            "MAIL_TIMEOUT": "2",
            "MAIL_SEND_DEADLINE": "6",
            "OUTBOX_SEND_LEASE_SECONDS": "8",
        }
    )
    assert (settings.pool, settings.concurrency, settings.mail_send_deadline) == ("prefork", 4, 6)
    assert create_app(settings).extensions["delivery_engine"].pool.size() == 1  # one a process


def test_a_send_deadline_past_the_lease_is_refused() -> None:
    env = {**BASE, "MAIL_TIMEOUT": "2", "MAIL_SEND_DEADLINE": "8", "OUTBOX_SEND_LEASE_SECONDS": "8"}
    with pytest.raises(ConfigError, match=r"MAIL_SEND_DEADLINE .* OUTBOX_SEND_LEASE_SECONDS"):
        WorkerSettings.from_env(env)


def test_the_database_pool_has_a_connection_per_thread() -> None:
    settings = WorkerSettings.from_env({**BASE, "CELERY_WORKER_CONCURRENCY": "12"})
    assert create_app(settings).extensions["delivery_engine"].pool.size() == 12


def test_tls_and_ssl_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="exclude"):
        WorkerSettings.from_env({**BASE, "MAIL_USE_TLS": "1", "MAIL_USE_SSL": "1"})


def test_worker_without_settings_stops_with_a_clear_message(tmp_path: Path) -> None:
    """The real start-up path: `celery -A` imports celery_app, which must exit cleanly."""
    done = subprocess.run(
        [sys.executable, "-c", "import bookshelf_worker.celery_app"],
        env={"PATH": "/usr/bin:/bin", "MAIL_PASSWORD": "never-printed"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "bookshelf-worker cannot start: missing required setting(s):" in done.stderr
    assert "CELERY_BROKER_URL, DATABASE_URL, MAIL_SERVER, MAIL_DEFAULT_SENDER" in done.stderr
    assert "Traceback" not in done.stderr and "never-printed" not in done.stderr


def test_the_environment_does_not_override_the_worker_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Celery reads CELERY_BROKER_URL from os.environ before its conf; the worker's app
    must use what WorkerSettings say. It keeps no results: delivery state is Postgres'."""
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://elsewhere.invalid:6379/9")
    celery = create_app(WorkerSettings.from_env(BASE)).extensions["celery"]
    assert celery.conf.task_ignore_result
    connection = celery.connection_for_read()
    assert (connection.hostname, connection.port, connection.virtual_host) == (
        "127.0.0.1",
        6379,
        "0",
    )


def test_the_worker_waits_for_the_broker_for_ever_but_the_producer_does_not() -> None:
    worker = create_app(WorkerSettings.from_env(BASE)).extensions["celery"]
    # Celery's default (100 retries, backoff up to 30 s) exits after ~45 min of outage.
    assert worker.conf.broker_connection_max_retries is None
    assert worker.conf.broker_connection_retry and worker.conf.broker_connection_retry_on_startup
    # The worker-only setting is not in the shared dict the web's producer uses, whose
    # publishing stays bounded by its own retry policy.
    shared = celery_settings(BASE["CELERY_BROKER_URL"])
    assert "broker_connection_max_retries" not in shared
    assert shared["task_publish_retry_policy"]["max_retries"] <= 2
