"""The Celery email worker as a local process, started with the production command
(docs/architecture.md) and ready when its worker_ready signal writes the ready file."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from devstack.process import ManagedProcess, ProcessServer

# A warm shutdown finishes the running task first; Celery can take over 10 s.
STOP_TIMEOUT = 60.0
# The image's defaults (services/worker/entrypoint.sh): a thread per email in flight.
DEFAULT_POOL = "threads"
DEFAULT_CONCURRENCY = 32


def celery_binary() -> str:
    return str(Path(sys.executable).parent / "celery")


class CeleryWorker(ProcessServer):
    start_timeout = 60.0

    def __init__(
        self,
        workdir: Path,
        broker_url: str,
        smtp_port: int,
        *,
        database_url: str,
        smtp_host: str = "127.0.0.1",
        mail_sender: str = "Bookshelf <no-reply@bookshelf.test>",
        mail_timeout: float = 5.0,
        pool: str | None = None,
        concurrency: int | None = 1,
        name: str = "worker",
        extra_env: Mapping[str, str] | None = None,
        niceness: int = 0,
    ) -> None:
        self.workdir = workdir
        self.ready_file = workdir / f"{name}.ready"
        # Start from a clean slate: nothing of the caller's MAIL_*/CELERY_* leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "CELERY_"))}
        env.update(
            {
                "CELERY_BROKER_URL": broker_url,
                "DATABASE_URL": database_url,
                "MAIL_SERVER": smtp_host,
                "MAIL_PORT": str(smtp_port),
                "MAIL_DEFAULT_SENDER": mail_sender,
                "MAIL_TIMEOUT": str(mail_timeout),
                "CELERY_WORKER_READY_FILE": str(self.ready_file),
                # Liveness as in the images: a worker that stops consuming exits, and the
                # supervisor restarts it (bookshelf_worker.liveness).
                "CELERY_WORKER_HEARTBEAT_FILE": str(workdir / f"{name}.heartbeat"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env or {})
        # Pool and size as the image takes them: CELERY_WORKER_POOL and
        # CELERY_WORKER_CONCURRENCY, read by the command and by the app alike (it sizes
        # its database pool for them). An argument sets the variable; None leaves the
        # image's default (or extra_env's), as the benchmarks measure it.
        if pool is not None:
            env["CELERY_WORKER_POOL"] = pool
        if concurrency is not None:
            env["CELERY_WORKER_CONCURRENCY"] = str(concurrency)
        env.setdefault("CELERY_WORKER_POOL", DEFAULT_POOL)
        env.setdefault("CELERY_WORKER_CONCURRENCY", str(DEFAULT_CONCURRENCY))
        self.pool = env["CELERY_WORKER_POOL"]
        self.concurrency = int(env["CELERY_WORKER_CONCURRENCY"])
        argv = [
            celery_binary(), "-A", "bookshelf_worker.celery_app:celery_app", "worker",
            "-Q", "email,jobs", "--loglevel", "INFO",
            "--pool", self.pool, "--concurrency", str(self.concurrency),
            # Local-run extras: a node name of its own so that several test workers on
            # one machine do not clash, and no mingle (a 1 s wait for neighbours'
            # revoked-task lists a throwaway broker never has).
            "--hostname", f"{name}-{os.getpid()}@%h", "--without-mingle",
        ]  # fmt: skip
        self.process = ManagedProcess(
            name, argv, workdir / f"{name}.log", env=env, cwd=workdir,
            stop_timeout=STOP_TIMEOUT, niceness=niceness,
        )  # fmt: skip

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def ready(self) -> bool:
        """Its worker_ready signal wrote the file: connected to the broker, consuming."""
        return self.ready_file.exists()

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)


class CeleryBeat(ProcessServer):
    """`celery beat` (its own service, as in compose): the import sweep and the daily
    digest. Ready when its beat_init signal writes the ready file."""

    start_timeout = 60.0

    def __init__(self, workdir: Path, env: Mapping[str, str], name: str = "beat") -> None:
        self.workdir = workdir
        self.ready_file = workdir / f"{name}.ready"
        env = {**env, "CELERY_BEAT_READY_FILE": str(self.ready_file), "PYTHONUNBUFFERED": "1"}
        argv = [
            celery_binary(), "-A", "bookshelf_worker.celery_app:celery_app", "beat",
            "--schedule", str(workdir / f"{name}-schedule"), "--loglevel", "INFO",
        ]  # fmt: skip
        self.process = ManagedProcess(
            name, argv, workdir / f"{name}.log", env=env, cwd=workdir, stop_timeout=STOP_TIMEOUT
        )

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def ready(self) -> bool:
        return self.ready_file.exists()

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
