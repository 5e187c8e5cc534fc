"""Restarts a LocalStack's supervised services when their process exits, as Compose's
`restart: unless-stopped` does for the containers.

A background thread polls every `interval` seconds. A service whose process is wanted
(started, and not stopped on purpose since) but no longer runs is stopped (which clears
what is left of its process group, e.g. Celery's pool after its main process was
killed) and started again, readiness probe included. Each restart is a line in the
stack's own log and a count in `restarts`. A restart that fails is tried again after a
back-off (1, 2, 4 … 30 s), so a service that cannot come up does not spin.

Stopping and starting a service on purpose goes through `stop_service` and
`start_service`, which take the same per-service lock as a restart: neither can
interleave with one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from devstack.process import StackError
from devstack.service import Service

POLL_INTERVAL_S = 0.5
MAX_BACKOFF_S = 30.0


class Supervisor:
    def __init__(
        self, services: Sequence[Service], log_path: Path, interval: float = POLL_INTERVAL_S
    ) -> None:
        self.services = {service.name: service for service in services}
        self.log_path = log_path
        self.interval = interval
        self.restarts = dict.fromkeys(self.services, 0)
        self.passes = 0  # completed polls: a test can wait for some to go by
        self._locks = {name: threading.Lock() for name in self.services}
        self._failures = dict.fromkeys(self.services, 0)
        self._retry_at = dict.fromkeys(self.services, 0.0)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the stack's own log ------------------------------------------------
    def log(self, message: str) -> None:
        stamp = datetime.now().astimezone().isoformat(timespec="milliseconds")
        with open(self.log_path, "a") as log:
            log.write(f"{stamp} devstack: {message}\n")

    # --- the thread ---------------------------------------------------------
    def start(self) -> None:
        supervised = [name for name, service in self.services.items() if service.supervised]
        self.log(f"supervising {', '.join(supervised)} (polling every {self.interval}s)")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="devstack-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No restart begins after this; one under way is let finish (and then stopped
        with the rest of the stack)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            for service in self.services.values():
                if self._stopping.is_set():
                    return
                try:
                    if self._due(service):
                        self._restart(service)
                except Exception as exc:  # noqa: BLE001 - keep watching the others
                    self.log(f"{service.name}: supervisor error {exc!r}")
            self.passes += 1

    def _due(self, service: Service) -> bool:
        process = service.process
        return (
            service.supervised
            and process is not None
            and process.wanted
            and not process.running
            and time.monotonic() >= self._retry_at[service.name]
        )

    def _restart(self, service: Service) -> None:
        assert service.process is not None  # _due() checked it
        with self._locks[service.name]:
            # Re-check under the lock: stop_service() may have got there first.
            if self._stopping.is_set() or not self._due(service):
                return
            code = service.process.exit_code
            try:
                service.stop()  # reaps it and SIGKILLs whatever is left of its group
                service.start()
            except Exception as exc:  # noqa: BLE001 - the supervisor must outlive it
                self._failures[service.name] += 1
                delay = min(2.0 ** (self._failures[service.name] - 1), MAX_BACKOFF_S)
                self._retry_at[service.name] = time.monotonic() + delay
                service.stop()  # a half-started process, not ready in time
                service.process.wanted = True  # still meant to run: try again later
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.log(
                    f"{service.name} exited with code {code}; restart failed ({reason}); "
                    f"next try in {delay:.0f}s"
                )
                return
            self._failures[service.name] = 0
            self.restarts[service.name] += 1
            self.log(f"{service.name} exited with code {code}; restarted")

    # --- on purpose ---------------------------------------------------------
    def _managed(self, name: str) -> Service:
        service = self.services.get(name)
        if service is None:
            raise StackError(f"no service named {name!r}; there are {', '.join(self.services)}")
        if service.process is None:
            raise StackError(f"{name} has no process devstack manages (pg_ctl daemonises it)")
        return service

    def stop_service(self, name: str) -> None:
        """Stop it; it stays down, supervised or not, until start_service(name)."""
        service = self._managed(name)
        with self._locks[name]:
            service.stop()
        self.log(f"{name} stopped on purpose")

    def start_service(self, name: str) -> None:
        """Start it again (and wait until it is ready); a running service is left alone."""
        service = self._managed(name)
        with self._locks[name]:
            if service.running:
                return
            self._failures[name] = 0
            self._retry_at[name] = 0.0
            service.stop()  # whatever is left of its group, if it died while held
            service.start()
        self.log(f"{name} started on purpose")
