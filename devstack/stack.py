"""The whole Bookshelf stack as local processes, for the e2e tests and `make dev`.

    nginx ─► gunicorn (web) ─► Postgres ◄─ outbox relay
                  └─► broker ◄───────────────────┘
                        └─► celery worker ─► MailHog

Every port is chosen up front, so the services' environment is known before any of
them starts; then the independent services start in parallel, each waiting for its
own readiness probe (ManagedProcess.wait_ready names the one that fails and quotes
its log). Whatever started is stopped again, also when start-up fails half way.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Protocol

import requests

from devstack.broker import BrokerServer
from devstack.gunicorn import REPO, WEB_DIR, GunicornServer, run_migrations
from devstack.mailhog import MailHogClient, MailHogServer
from devstack.nginx import NginxServer
from devstack.postgres import PostgresServer
from devstack.process import ManagedProcess, StackError, tail, wait_until
from devstack.worker import CeleryWorker

STATIC_ROOT = REPO / "services" / "web" / "src" / "bookshelf" / "static"
DATABASE_NAME = "bookshelf"
# The relay's pace here: a short interval, and a grace just above the request's own
# dispatch (bounded well under a second), so a stuck email shows up within seconds.
RELAY_INTERVAL_S = 2
RELAY_GRACE_S = 1


class Stoppable(Protocol):
    def stop(self) -> None: ...


def in_parallel(*steps: Callable[[], object]) -> None:
    """Run the steps in threads; once all have ended, re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]


class LocalStack:
    """Starts Postgres, the broker, MailHog, gunicorn, the Celery worker, the outbox
    relay and nginx."""

    def __init__(self, workdir: Path | None = None, keep_workdir: bool | None = None) -> None:
        self.owns_workdir = workdir is None
        self.keep_workdir = (not self.owns_workdir) if keep_workdir is None else keep_workdir
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="bookshelf-stack-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as `nobody` when the master is root: they need to
        # enter the runtime dir (mkdtemp makes it 0700).
        self.workdir.chmod(0o755)
        self.timings: dict[str, float] = {}
        self.cold_start_seconds: float | None = None
        self._started: dict[str, Stoppable] = {}

        self.postgres = PostgresServer()
        self.broker = BrokerServer(self.workdir / "broker")
        self.mailhog = MailHogServer(self.workdir)
        self.env = self._service_env()
        self.web = GunicornServer(self.workdir, self.env)
        self.worker = CeleryWorker(
            self.workdir,
            broker_url=self.broker.url,
            smtp_port=self.mailhog.smtp_port,
            mail_sender=self.env["MAIL_DEFAULT_SENDER"],
            database_url=self.env["DATABASE_URL"],
            # Two pool processes: one SMTP round trip need not wait for another.
            concurrency=2,
            extra_env={
                k: v for k, v in self.env.items() if k.startswith("MAIL_") or k == "LOG_LEVEL"
            },
        )
        self.nginx = NginxServer(self.workdir, upstream=self.web.upstream, static_root=STATIC_ROOT)
        self.relay_heartbeat = self.workdir / "outbox-relay.heartbeat"
        self.relay = ManagedProcess(
            "outbox-relay",
            [
                sys.executable, "-m", "flask", "--app", "bookshelf", "outbox", "relay",
                "--interval", str(RELAY_INTERVAL_S),
                "--heartbeat-file", str(self.relay_heartbeat),
            ],
            self.workdir / "outbox-relay.log",
            env=self.env,
            cwd=WEB_DIR,
        )  # fmt: skip

    def _service_env(self) -> dict[str, str]:
        """The environment of web, migrate and worker (docs/architecture.md).

        Every setting the services read is set here, even when empty: they load a `.env`
        found above their cwd (the repo's, for `make dev`), and a value already in the
        environment is the only thing it does not override. A `.env` written for Docker
        (MAIL_USE_TLS=true, hosts named keydb, ...) must not reach the local processes.
        """
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "CELERY_"))}
        return {
            **inherited,
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": self.postgres.url(DATABASE_NAME),
            "CELERY_BROKER_URL": self.broker.url,
            "OUTBOX_GRACE_SECONDS": str(RELAY_GRACE_S),
            "SESSION_COOKIE_SECURE": "false",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.mailhog.smtp_port),
            "MAIL_USERNAME": "",
            "MAIL_PASSWORD": "",
            "MAIL_USE_TLS": "false",
            "MAIL_USE_SSL": "false",
            "MAIL_DEFAULT_SENDER": "Bookshelf <no-reply@bookshelf.localhost>",
            "MAIL_TIMEOUT": "10",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        }

    # --- addresses -------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The app, through nginx."""
        return str(self.nginx.base_url).rstrip("/")

    @property
    def mailhog_api_url(self) -> str:
        return self.mailhog.api_url

    @property
    def mailhog_ui_url(self) -> str:
        return f"{self.mailhog.api_url}/"

    def mailhog_client(self) -> MailHogClient:
        return self.mailhog.client()

    # --- lifecycle -------------------------------------------------------
    def _timed(self, name: str, step: Callable[[], object]) -> None:
        began = time.perf_counter()
        step()
        self.timings[name] = time.perf_counter() - began

    def _run(self, name: str, service: Stoppable, start: Callable[[], object]) -> None:
        self._started[name] = service  # before start(): a half-started process is stopped too
        self._timed(name, start)

    def _start_database(self) -> None:
        self._run("postgres", self.postgres, self.postgres.start)
        self.postgres.create_database(DATABASE_NAME)
        self._timed("migrate", lambda: run_migrations(self.env, self.workdir / "migrate.log"))
        self._run("outbox-relay", self.relay, self._start_relay)

    def _start_relay(self) -> None:
        """Ready once its first pass is done (the broker may still be starting)."""
        self.relay_heartbeat.unlink(missing_ok=True)
        self.relay.start()
        self.relay.wait_ready(self.relay_heartbeat.exists, timeout=30)

    def _start_broker_and_worker(self) -> None:
        self._run("broker", self.broker, self.broker.start)
        self._run("worker", self.worker, self.worker.start)

    def _wait_ready_through_nginx(self, timeout: float = 15.0) -> None:
        """The whole path answers: nginx → gunicorn → Postgres (/readyz)."""
        url = f"{self.base_url}/readyz"
        if not wait_until(lambda: requests.get(url, timeout=2).ok, timeout):
            reply = requests.get(url, timeout=2)
            web_log = self.web.process.log_path
            raise StackError(
                f"{url} still answers {reply.status_code} after {timeout:.0f}s: "
                f"{reply.text[:500]}\nlast lines of {web_log}:\n{tail(web_log)}"
            )

    def start(self) -> LocalStack:
        began = time.perf_counter()
        try:
            # gunicorn's /healthz needs no database, so it boots while Postgres
            # initialises and migrates; start() returns only once all are done.
            in_parallel(
                self._start_database,
                self._start_broker_and_worker,
                lambda: self._run("mailhog", self.mailhog, self.mailhog.start),
                lambda: self._run("web", self.web, self.web.start),
            )
            self._run("nginx", self.nginx, self.nginx.start)
            self._timed("readyz", self._wait_ready_through_nginx)
        except BaseException:
            self.stop()
            raise
        self.cold_start_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop what started, front to back, so nothing logs errors about its peers."""
        started = dict(self._started)
        self._started.clear()

        def stopper(*names: str) -> list[Callable[[], None]]:
            return [started[name].stop for name in names if name in started]

        errors: list[BaseException] = []
        for stage in (
            ("nginx",),
            ("web", "worker", "outbox-relay"),
            ("mailhog", "broker", "postgres"),
        ):
            steps = stopper(*stage)
            if not steps:
                continue
            try:
                in_parallel(*steps)
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                errors.append(exc)
        if self.owns_workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise StackError(f"stopping the stack failed: {errors[0]}") from errors[0]

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
