"""A throwaway Postgres cluster: initdb into a temp dir, started on a free port.

initdb refuses to run as root, so as root every Postgres binary runs as the
`postgres` user through runuser, on a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from devstack.ports import free_port
from devstack.process import StackError, tail


def postgres_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]),
    )
    if not candidates:
        raise StackError("Postgres is not installed: run `make bootstrap`.")
    return Path(candidates[-1]).parent


class PostgresServer:
    def __init__(self, port: int | None = None, user: str = "postgres") -> None:
        self.port = port or free_port()
        self.user = user
        self.bindir = postgres_bindir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="bookshelf-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    def start(self) -> PostgresServer:
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        initdb = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-A",
            "trust",
            "-U",
            self.user,
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        if initdb.returncode != 0:
            raise StackError(f"postgres initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c max_connections=200"
        started = self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            "30",
            "start",
        )
        if started.returncode != 0:
            raise StackError(
                f"postgres did not start on port {self.port}:\n{started.stderr}\n"
                f"last lines of {self.log_path}:\n{tail(self.log_path)}"
            )
        return self

    def ready(self) -> bool:
        """pg_isready: the server accepts connections on its port."""
        done = self._run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port))
        return done.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        done = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        if done.returncode != 0:
            raise StackError(f"createdb {name} failed: {done.stderr}")
        return self.url(name)

    def restart(self) -> None:
        """Stop at once (as a crash would) and start again on the same data and port."""
        done = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path),
            "-m", "immediate", "-w", "-t", "30", "restart",
        )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"postgres restart failed:\n{done.stdout}\n{done.stderr}")

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
