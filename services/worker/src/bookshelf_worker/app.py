"""The worker's app factory: a minimal Flask app that only carries Flask-Mail and
Flask-Babel, and the Celery app bound to it (Flask docs, "Background Tasks with
Celery", celery_init_app).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from celery import Celery, Task
from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bookshelf_tasks.celery_config import celery_settings, configure
from bookshelf_tasks.error_tracking import init_sentry
from bookshelf_tasks.names import DIGEST_SEND, IMPORT_SWEEP
from bookshelf_worker import (  # noqa: F401 - registers the tasks on every app
    job_tasks,
    logs,
    metrics,
    tasks,
)
from bookshelf_worker.broker_transport import TRANSPORT
from bookshelf_worker.config import WorkerSettings
from bookshelf_worker.extensions import babel, mail
from bookshelf_worker.mail import SMTP_POOL
from bookshelf_worker.smtp_pool import SMTPPool, close_all

log = logging.getLogger(__name__)
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "import-sweep": {"task": IMPORT_SWEEP, "schedule": 30.0},
    # Every 15 minutes, so a user's digest leaves soon after their local midnight;
    # the rows' fixed ids make every later run of the same day a no-op.
    "daily-digest": {"task": DIGEST_SEND, "schedule": 900.0},
}


def worker_celery_settings(settings: WorkerSettings) -> dict[str, Any]:
    """The shared settings plus the ones only a consuming process reads."""
    return {
        **celery_settings(settings.broker_url),
        # Config > Broker Settings > broker_connection_max_retries. Celery's default
        # (100 tries, backing off to 30 s apart) makes the worker exit after ~45 min
        # without a broker; retrying for ever resumes on its own when the broker is
        # back, and the liveness watchdog (liveness.py) is what restarts a worker that
        # stopped consuming. Worker-only: the relay's publishing stays bounded by
        # task_publish_retry_policy and the socket timeouts of the shared settings.
        "broker_connection_max_retries": None,
        # Config > Broker Settings > broker_transport. kombu's Redis transport with a
        # fix for a crash on broker restarts (broker_transport.py); the URL stays
        # redis://. Worker-only: the web publishes and never restores unacked messages.
        "broker_transport": TRANSPORT,
        # Config > Beat > beat_schedule. Read by `celery beat` only (its own service):
        # the sweep restarts imports whose message was lost or whose worker died.
        "beat_schedule": BEAT_SCHEDULE,
    }


# Every engine this process made, so a forked pool process can drop their connections.
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def delivery_engine(database_url: str, connections: int = 1) -> Engine:
    """The worker's pool to the outbox's Postgres. No connection is opened here.
    `connections`: how many emails this process sends at once (its threads)."""
    engine = create_engine(
        database_url,
        # One email uses one connection at a time (claim, DATA mark and outcome are
        # single statements of their own): one per thread, and a spare or two.
        pool_size=connections,
        max_overflow=min(connections, 2),
        # Each write is one statement, atomic by itself: no BEGIN and COMMIT round trips
        # around it. No ping before each use either: a connection that died with a
        # Postgres restart fails its statement, which runs again on a new one
        # (bookshelf_tasks.delivery._on_worker), and the pool replaces the others.
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    _engines.add(engine)
    return engine


@worker_process_init.connect
def _fresh_pool_per_process(**_: Any) -> None:
    """SQLAlchemy docs, "Using Connection Pools with Multiprocessing or os.fork()": a
    forked child must not use its parent's connections."""
    for engine in list(_engines):
        engine.dispose(close=False)


@worker_shutdown.connect
@worker_process_shutdown.connect
def _close_smtp_connections(**_: Any) -> None:
    """QUIT the idle SMTP connections of this process (the thread pool's sends are
    over by worker_shutdown; a prefork child's by worker_process_shutdown)."""
    close_all()


def celery_init_app(app: Flask, settings: WorkerSettings) -> Celery:
    class FlaskTask(Task):
        """Runs every task inside the Flask app context Flask-Mail and Babel need."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    # configure(), not conf.update(): Celery would otherwise let os.environ's
    # CELERY_* override `settings` (the same values in production, not in tests).
    configure(celery, worker_celery_settings(settings))
    celery.set_default()
    app.extensions["celery"] = celery

    @worker_init.connect(weak=False)
    def _check_pool(sender: Any, **_: Any) -> None:
        """The database pool is sized from the settings: say so if the command ran
        another pool size (a hand-written `--concurrency`)."""
        if getattr(sender, "app", None) is not celery:
            return
        if sender.concurrency != settings.concurrency:
            log.warning(
                "worker concurrency %s differs from CELERY_WORKER_CONCURRENCY=%s, for "
                "which the database pool is sized: set that variable instead",
                sender.concurrency, settings.concurrency,
            )  # fmt: skip

    return celery


def _init_error_tracking(settings: WorkerSettings) -> None:
    """Sentry, only when SENTRY_DSN is set (imported only then: it patches Celery)."""
    if not settings.sentry_dsn:
        return
    from sentry_sdk.integrations.celery import CeleryIntegration

    sentry = {"SENTRY_DSN": settings.sentry_dsn, "SENTRY_ENVIRONMENT": settings.sentry_environment}
    init_sentry(sentry, [CeleryIntegration()], component="worker")


def create_app(settings: WorkerSettings | None = None) -> Flask:
    settings = settings or WorkerSettings.from_env()
    # Named after this package so that templates/ and translations/ are found in it.
    app = Flask("bookshelf_worker")
    app.config.update(settings.flask_config())
    # Celery's --loglevel sets the root logger; LOG_LEVEL tunes the worker's own lines.
    logging.getLogger("bookshelf_worker").setLevel(settings.log_level)
    # Each email logs one line of ours (`email outcome=…`, task id included). Celery's
    # "Received task" and "succeeded in" lines said it twice more, at a cost per email
    # the profile showed; they come back with LOG_LEVEL=DEBUG.
    if logging.getLevelName(settings.log_level) > logging.DEBUG:
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logs.install(settings.log_format)
    settings.check_deadlines()
    _init_error_tracking(settings)
    mail.init_app(app)
    babel.init_app(app)
    app.extensions[SMTP_POOL] = SMTPPool()
    # A thread per email at once: a connection each. A process per email: one.
    connections = settings.concurrency if settings.pool == "threads" else 1
    app.extensions["delivery_engine"] = delivery_engine(settings.database_url, connections)
    app.extensions["delivery_leases"] = settings.leases
    celery = celery_init_app(app, settings)
    metrics.install(celery, settings.metrics_bind, settings.broker_url)
    log.info(
        "mail via %s:%s tls=%s ssl=%s user=%s timeout=%ss deadline=%ss; pool %s x%s",
        settings.mail_server,
        settings.mail_port,
        settings.mail_use_tls,
        settings.mail_use_ssl,
        settings.mail_username or "-",
        settings.mail_timeout,
        settings.mail_send_deadline,
        settings.pool,
        settings.concurrency,
    )
    return app
