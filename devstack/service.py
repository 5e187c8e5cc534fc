"""One service of a LocalStack as data: what `make dev`'s summary, the benchmarks, the
tests and the supervisor all read, so that none of them keeps a list of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.process import ManagedProcess


@dataclass(frozen=True)
class Service:
    name: str
    start: Callable[[], object]  # starts it and returns once `ready` is true
    stop: Callable[[], None]
    ready: Callable[[], bool]  # the readiness probe `start` waits for
    logs: Mapping[str, Path]  # label -> log file, in the order `make dev` lists them
    # None for Postgres: pg_ctl daemonises it, so there is no child process to watch.
    process: ManagedProcess | None = None
    # Restarted by the supervisor when its process exits while the stack runs.
    supervised: bool = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running
