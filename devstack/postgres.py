"""A Postgres cluster on a free port: throwaway (initdb into a temp dir, removed at
stop) or, given a `root`, kept there across runs (`make dev`'s data).

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
    def __init__(
        self, port: int | None = None, user: str = "postgres", root: Path | None = None
    ) -> None:
        """`root`: a directory whose cluster outlives this server (made at the first
        start, used again after); None: a temporary one, removed at stop."""
        self.port = port or free_port()
        self.user = user
        self.bindir = postgres_bindir()
        self.as_root = os.geteuid() == 0
        self.persistent = root is not None
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="bookshelf-pg-"))
        else:
            root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    def _initdb(self) -> None:
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

    def start(self) -> PostgresServer:
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        # -F (no fsync) only where the data is thrown away anyway.
        no_fsync = "" if self.persistent else " -F"
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}{no_fsync} -c max_connections=200"
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

    def create_database(self, name: str, exist_ok: bool = False) -> str:
        done = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        if done.returncode != 0 and not (exist_ok and "already exists" in done.stderr):
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
        if self.persistent:  # a clean shutdown: no crash recovery at the next start
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop")
            return
        if self.data_dir.exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
