"""The whole Bookshelf stack as local processes, for the e2e tests and `make dev`.

    nginx ─► gunicorn (web) ─► Postgres ◄─ outbox relay
                  └─► broker ◄───────────────────┘
                        └─► celery worker ─► MailHog or Mailpit

Every port is chosen up front, so the services' environment is known before any of
them starts; then the independent services start in parallel, each waiting for its
own readiness probe (ManagedProcess.wait_ready names the one that fails and quotes
its log). Whatever started is stopped again, also when start-up fails half way.

`services` lists them as data (devstack.service.Service), in start order: `make dev`'s
summary, the benchmarks and the tests read that list. Once the stack is up, a
supervisor restarts the supervised ones whose process exits (devstack.supervisor);
Postgres is not supervised, so a fault test can stop and start it by hand.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import requests

from devstack.broker import BrokerServer
from devstack.flavours import catcher_choice, catcher_server, mailbox
from devstack.gunicorn import REPO, WEB_DIR, GunicornServer, run_migrations
from devstack.mailbox import Mailbox
from devstack.nginx import NginxServer
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.process import ManagedProcess, StackError, tail, wait_until
from devstack.service import Service
from devstack.supervisor import Supervisor
from devstack.worker import CeleryBeat, CeleryWorker

STATIC_ROOT = REPO / "services" / "web" / "src" / "bookshelf" / "static"
DATABASE_NAME = "bookshelf"
# The relay's sweep here: short, so a lease that ran out is acted on within seconds.
RELAY_INTERVAL_S = 2
# The email path (worker and relay) yields the cores to requests when both are busy
# (docs/architecture.md, "Fairness on one host"): the same quarter of the CPU weight as
# compose's cpu_shares 256; DEVSTACK_EMAIL_NICENESS=0 for equal shares.
EMAIL_NICENESS = 6
# Stopped front to back, so nothing logs errors about its peers; each stage in parallel.
STOP_STAGES = (
    ("nginx",),
    ("web", "worker", "beat", "outbox-relay"),
    ("mailhog", "mailpit", "broker", "postgres"),
)


def in_parallel(*steps: Callable[[], object]) -> None:
    """Run the steps in threads; once all have ended, re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]


class LocalStack:
    """Starts Postgres, the broker (BROKER), the mail catcher (MAIL_CATCHER), gunicorn,
    the Celery worker, the outbox relay and nginx."""

    def __init__(
        self,
        workdir: Path | None = None,
        keep_workdir: bool | None = None,
        *,
        smtp_port: int | None = None,
        env_overrides: Mapping[str, str] | None = None,
        email_niceness: int | None = None,
        postgres_dir: Path | None = None,
    ) -> None:
        """`smtp_port`: where the worker sends (the catcher's by default; the fault suite
        puts its own server in front). `env_overrides`: settings of web, relay and
        worker that differ from the defaults below (the fault suite's short leases).
        `email_niceness`: the worker's and relay's nice value (default
        DEVSTACK_EMAIL_NICENESS, else EMAIL_NICENESS); each start applies the current
        `worker.process.niceness` and `relay.niceness`. `postgres_dir`: where the
        database outlives the stack (`make dev`); by default it is thrown away with it."""
        if email_niceness is None:
            email_niceness = int(os.environ.get("DEVSTACK_EMAIL_NICENESS", EMAIL_NICENESS))
        self.owns_workdir = workdir is None
        self.keep_workdir = (not self.owns_workdir) if keep_workdir is None else keep_workdir
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="bookshelf-stack-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as `nobody` when the master is root: they need to
        # enter the runtime dir (mkdtemp makes it 0700).
        self.workdir.chmod(0o755)
        self.timings: dict[str, float] = {}
        self.cold_start_seconds: float | None = None
        self._started: set[str] = set()

        self.postgres = PostgresServer(root=postgres_dir)
        self.broker = BrokerServer(self.workdir / "broker")
        self.catcher = catcher_choice()
        self.mail_catcher = catcher_server(self.catcher, self.workdir)
        self.env = {
            **self._service_env(smtp_port or self.mail_catcher.smtp_port),
            **(env_overrides or {}),
        }
        # Each process serves its Prometheus metrics on a port of its own (METRICS_BIND).
        self.metrics_binds = {
            name: f"127.0.0.1:{free_port()}" for name in ("web", "worker", "outbox-relay")
        }
        self.web = GunicornServer(self.workdir, self._metrics_env("web"))
        self.worker = CeleryWorker(
            self.workdir,
            broker_url=self.broker.url,
            smtp_port=int(self.env["MAIL_PORT"]),
            mail_sender=self.env["MAIL_DEFAULT_SENDER"],
            database_url=self.env["DATABASE_URL"],
            # Pool and size: the image's defaults, or CELERY_WORKER_* in env_overrides.
            pool=None,
            concurrency=None,
            extra_env={
                k: v
                for k, v in self._metrics_env("worker").items()
                if k.startswith(("MAIL_", "OUTBOX_", "CELERY_WORKER_", "LOG_", "SENTRY_"))
                or k == "METRICS_BIND"
            },
            niceness=email_niceness,
        )
        self.beat = CeleryBeat(
            self.workdir,
            {**self.worker.process.env, "CELERY_WORKER_HEARTBEAT_FILE": ""},
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
            env=self._metrics_env("outbox-relay"),
            cwd=WEB_DIR,
            niceness=email_niceness,
        )  # fmt: skip
        self.services = self._services()
        unstaged = {s.name for s in self.services}.difference(*STOP_STAGES)
        if unstaged:
            raise StackError(f"STOP_STAGES does not say when to stop {sorted(unstaged)}")
        self.supervisor = Supervisor(self.services, self.workdir / "devstack.log")

    def _services(self) -> tuple[Service, ...]:
        """Every service, in the order they depend on each other (and start)."""
        pg, broker, catcher, web, worker, nginx = (
            self.postgres, self.broker, self.mail_catcher, self.web, self.worker, self.nginx
        )  # fmt: skip
        return (
            Service("postgres", pg.start, pg.stop, pg.ready, {"postgres": pg.log_path}),
            Service(
                "broker", broker.start, broker.stop, broker.ready,
                {f"broker ({broker.flavour})": broker.log_path}, broker.process, supervised=True,
            ),
            Service(
                self.catcher, catcher.start, catcher.stop, catcher.ready,
                {self.catcher: catcher.process.log_path}, catcher.process, supervised=True,
            ),
            Service(
                "web", web.start, web.stop, web.ready,
                {"web (gunicorn)": web.process.log_path}, web.process, supervised=True,
            ),
            Service(
                "worker", worker.start, worker.stop, worker.ready,
                {"worker (celery)": worker.log_path}, worker.process, supervised=True,
            ),
            Service(
                "beat", self.beat.start, self.beat.stop, self.beat.ready,
                {"beat (celery)": self.beat.log_path}, self.beat.process, supervised=True,
            ),
            Service(
                "outbox-relay", self._start_relay, self.relay.stop, self.relay_heartbeat.exists,
                {"outbox relay": self.relay.log_path}, self.relay, supervised=True,
            ),
            Service(
                "nginx", nginx.start, nginx.stop, nginx.ready,
                {"nginx errors": nginx.error_log, "nginx requests": nginx.access_log},
                nginx.process, supervised=True,
            ),
        )  # fmt: skip

    def _metrics_env(self, name: str) -> dict[str, str]:
        return {**self.env, "METRICS_BIND": self.metrics_binds[name]}

    def metrics_url(self, name: str) -> str:
        """Where service `name` (web, worker, outbox-relay) serves its metrics."""
        return f"http://{self.metrics_binds[name]}/metrics"

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise StackError(f"no service named {name!r}; there are {[s.name for s in self.services]}")

    def log_files(self) -> dict[str, Path]:
        """Every log the stack writes: each service's, the one-shot migration's, and
        devstack's own (the supervisor's restarts)."""
        logs = {label: path for service in self.services for label, path in service.logs.items()}
        logs["migrate"] = self.workdir / "migrate.log"
        logs["devstack (restarts)"] = self.supervisor.log_path
        return logs

    def _service_env(self, smtp_port: int) -> dict[str, str]:
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
            "SESSION_COOKIE_SECURE": "false",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
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
    def mail_api_url(self) -> str:
        return self.mail_catcher.api_url

    @property
    def mail_ui_url(self) -> str | None:
        """None when the catcher runs without its web UI (the local Mailpit)."""
        return self.mail_catcher.ui_url

    def mailbox(self) -> Mailbox:
        return mailbox(self.catcher, self.mail_api_url)

    # --- lifecycle -------------------------------------------------------
    def _timed(self, name: str, step: Callable[[], object]) -> None:
        began = time.perf_counter()
        step()
        self.timings[name] = time.perf_counter() - began

    def _run(self, name: str) -> None:
        self._started.add(name)  # before start(): a half-started process is stopped too
        self._timed(name, self.service(name).start)

    def _start_database(self) -> None:
        self._run("postgres")
        self.postgres.create_database(DATABASE_NAME, exist_ok=self.postgres.persistent)
        self._timed("migrate", lambda: run_migrations(self.env, self.workdir / "migrate.log"))
        self._run("outbox-relay")

    def _start_relay(self) -> None:
        """Ready once its first pass is done (the broker may still be starting)."""
        self.relay_heartbeat.unlink(missing_ok=True)
        self.relay.start()
        self.relay.wait_ready(self.relay_heartbeat.exists, timeout=30)

    def _start_broker_and_worker(self) -> None:
        self._run("broker")
        self._run("worker")
        self._run("beat")

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
                lambda: self._run(self.catcher),
                lambda: self._run("web"),
            )
            self._run("nginx")
            self._timed("readyz", self._wait_ready_through_nginx)
        except BaseException:
            self.stop()
            raise
        self.cold_start_seconds = time.perf_counter() - began
        self.supervisor.start()
        return self

    # --- supervision and faults -------------------------------------------
    @property
    def restarts(self) -> dict[str, int]:
        """service name -> how many times the supervisor restarted it."""
        return self.supervisor.restarts

    def stop_service(self, name: str) -> None:
        """Stop one service; the supervisor leaves it down until start_service(name)."""
        self.supervisor.stop_service(name)

    def start_service(self, name: str) -> None:
        """Start a service stopped with stop_service, on the same port; returns once ready."""
        self.supervisor.start_service(name)

    def kill_service(self, name: str, signum: int = signal.SIGKILL) -> int:
        """A crash: `signum` to the service's main process only; returns its pid. A
        supervised service is restarted within about a poll interval plus its start-up."""
        process = self.service(name).process
        if process is None:
            raise StackError(f"{name} has no process devstack manages (pg_ctl daemonises it)")
        return process.send_signal(signum)

    def stop(self) -> None:
        """Stop what started, front to back, so nothing logs errors about its peers."""
        self.supervisor.stop()  # first: nothing is restarted while the stack stops
        started = set(self._started)
        self._started.clear()

        def stopper(*names: str) -> list[Callable[[], None]]:
            return [self.service(name).stop for name in names if name in started]

        errors: list[BaseException] = []
        for stage in STOP_STAGES:
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
