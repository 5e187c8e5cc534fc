"""The web service as local processes: its one-shot migration, then gunicorn.

Both run exactly the commands the image runs (docs/architecture.md), from the
repo's own `services/web/gunicorn.conf.py`; only the bind address is local.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import requests

from devstack.ports import free_port
from devstack.process import ManagedProcess, ProcessServer, StackError, tail

REPO = Path(__file__).resolve().parent.parent
WEB_DIR = REPO / "services" / "web"
GUNICORN_CONF = WEB_DIR / "gunicorn.conf.py"


def run_migrations(env: Mapping[str, str], log_path: Path, timeout: float = 60.0) -> None:
    """`flask --app bookshelf db upgrade` in services/web, as the `migrate` service does."""
    argv = [sys.executable, "-m", "flask", "--app", "bookshelf", "db", "upgrade"]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            done = subprocess.run(
                argv,
                cwd=WEB_DIR,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(
                f"migrate did not finish within {timeout:.0f}s.\n"
                f"last lines of {log_path}:\n{tail(log_path)}"
            ) from exc
    if done.returncode != 0:
        raise StackError(
            f"migrate failed (exit code {done.returncode}).\n"
            f"command: {' '.join(argv)} (cwd {WEB_DIR})\n"
            f"last lines of {log_path}:\n{tail(log_path)}"
        )


class GunicornServer(ProcessServer):
    """gunicorn serving `bookshelf:create_app()` on a free local port."""

    start_timeout = 30.0

    def __init__(self, workdir: Path, env: Mapping[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        # gunicorn.conf.py turns off the per-user control socket (gunicorn >= 25.1.0).
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            "bookshelf:create_app()",
        ]
        self.process = ManagedProcess(
            "web (gunicorn)",
            argv,
            workdir / "web.log",
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            cwd=REPO,
        )

    @property
    def upstream(self) -> str:
        """host:port, as nginx's `${WEB_UPSTREAM}` wants it."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.upstream}"

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)

    def ready(self) -> bool:
        return requests.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
