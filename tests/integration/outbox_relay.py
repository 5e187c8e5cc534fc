"""The outbox relay as a real process for the integration tests: the production command
(`flask --app bookshelf outbox relay`, docs/architecture.md "Commands"), run from
services/web as devstack runs it, on one database and one broker.

Ready means two things. The heartbeat file exists: its first pass is done. And its
LISTEN connection is open: the loop connects the listener only after that first pass,
so a row committed in between would wait for the next sweep. A test that starts the
relay with a long interval, so that only the NOTIFY can explain a prompt publication,
must not add its row in that window."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from bookshelf.outbox.relay import NOTIFY_CHANNEL
from devstack.gunicorn import WEB_DIR
from devstack.process import ManagedProcess

# pg_stat_activity shows each backend's latest statement; the listener's only one is this.
LISTEN_STATEMENT = f"LISTEN {NOTIFY_CHANNEL}"


class OutboxRelay:
    """`flask outbox relay --interval INTERVAL --heartbeat-file …` on `database_url`,
    publishing to `broker_url`; its log (DEBUG: one line per pass) in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        broker_url: str,
        *,
        interval: float,
        name: str = "outbox-relay",
    ) -> None:
        self.database_url = database_url
        self.started_at: float | None = None  # time.monotonic() at start()
        self.heartbeat = workdir / f"{name}.heartbeat"
        # Nothing of the caller's broker, mail or lease settings leaks in; the services
        # load a `.env` above their cwd only for what the environment does not set.
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "CELERY_", "OUTBOX_"))
        }
        env.update(
            {
                "SECRET_KEY": "integration-relay",
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": broker_url,
                "LOG_LEVEL": "DEBUG",
                "PYTHONUNBUFFERED": "1",
            }
        )
        argv = [
            sys.executable, "-m", "flask", "--app", "bookshelf", "outbox", "relay",
            "--interval", str(interval), "--heartbeat-file", str(self.heartbeat),
        ]  # fmt: skip
        self.process = ManagedProcess(name, argv, workdir / f"{name}.log", env=env, cwd=WEB_DIR)

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def log_lines(self, containing: str) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if containing in line]

    def listening(self) -> bool:
        """Some other session of its database has run the relay's LISTEN."""
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND query = :statement"
        )
        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return bool(connection.scalar(query, {"statement": LISTEN_STATEMENT}))
        finally:
            engine.dispose()

    def ready(self) -> bool:
        return self.heartbeat.exists() and self.listening()

    def start(self, timeout: float = 30.0) -> OutboxRelay:
        self.heartbeat.unlink(missing_ok=True)
        self.started_at = time.monotonic()
        self.process.start()
        self.process.wait_ready(self.ready, timeout=timeout)
        return self

    def stop(self) -> None:
        """SIGTERM: the loop answers within half a second (RelayLoop._wait)."""
        self.process.stop()


class DueNotifications:
    """A LISTEN of our own on the relay's channel, on `database_url`: counts what
    Postgres delivered there since it began. Postgres delivers a transaction's
    notifications at its commit, in commit order, and never those of a rollback."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._connection: Any = psycopg2.connect(url.render_as_string(hide_password=False))
        self._connection.set_session(autocommit=True)
        with self._connection.cursor() as cursor:
            cursor.execute(LISTEN_STATEMENT)

    def count(self) -> int:
        """How many arrived so far (reads what is waiting on the socket, never blocks)."""
        self._connection.poll()
        return len(self._connection.notifies)

    def close(self) -> None:
        self._connection.close()
