"""Liveness: a worker that stops consuming exits, so that its supervisor restarts it.

A Celery worker that lost its broker keeps retrying (broker_connection_max_retries is
None), and one whose event loop is stuck keeps its process alive: either way the
process looks fine to a supervisor that only restarts what exits, and Docker does
not restart an unhealthy container. So, when CELERY_WORKER_HEARTBEAT_FILE is set:

- `Heartbeat`, a consumer bootstep, touches the file every `interval` seconds from
  the consumer's timer. Its timer entry fires only while the event loop runs, and
  exists only while the consumer is connected and consuming: Celery stops the step
  when the connection is lost and starts it again once consuming resumes.
- `Watchdog`, a thread started with the worker, checks the file's age. Older than
  CELERY_WORKER_LIVENESS_TIMEOUT seconds, it logs why and sends SIGTERM to its own
  process: Celery's warm shutdown, which lets the emails being sent finish. If the
  process is still there `grace` seconds later, it ends it with os._exit(1).
- healthcheck.sh reads the same file's age.

A shutdown that someone else asked for (docker stop's SIGTERM) makes the watchdog
stand down: the warm shutdown may then wait for running tasks as long as it needs,
and the one who asked decides when to kill.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from celery import Celery, bootsteps
from celery.signals import worker_shutting_down

from bookshelf_tasks.celery_config import TASK_HARD_TIME_LIMIT, TASK_SOFT_TIME_LIMIT
from bookshelf_worker.config import ConfigError
from bookshelf_worker.delivering import RECORD_DEADLINE

log = logging.getLogger(__name__)

HEARTBEAT_FILE_ENV: Final = "CELERY_WORKER_HEARTBEAT_FILE"
TIMEOUT_ENV: Final = "CELERY_WORKER_LIVENESS_TIMEOUT"
DEFAULT_TIMEOUT: Final = 120.0
MAX_INTERVAL: Final = 10.0
# A warm shutdown waits for the running tasks. Each ends by the hard time limit
# (prefork), or by its send deadline (MAIL_SEND_DEADLINE, at most the soft limit) plus
# the outcome write's RECORD_DEADLINE (threads, which ignore Celery's time limits);
# past that and a margin, it is hung.
SHUTDOWN_GRACE: Final = TASK_HARD_TIME_LIMIT + 15.0
assert SHUTDOWN_GRACE > TASK_SOFT_TIME_LIMIT + RECORD_DEADLINE
# The app's conf key through which install() hands the settings to the bootsteps.
_CONF_KEY: Final = "bookshelf_liveness"


@dataclass(frozen=True)
class LivenessSettings:
    heartbeat_file: Path | None = None  # None: no heartbeat, no watchdog
    timeout: float = DEFAULT_TIMEOUT
    grace: float = SHUTDOWN_GRACE

    @property
    def interval(self) -> float:
        """How often the heartbeat is touched: several times within one timeout."""
        return min(self.timeout / 4, MAX_INTERVAL)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LivenessSettings:
        env = os.environ if environ is None else environ
        path = env.get(HEARTBEAT_FILE_ENV, "").strip()
        raw = env.get(TIMEOUT_ENV, "").strip()
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT
        except ValueError:
            raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
        if not timeout > 0:
            raise ConfigError(f"{TIMEOUT_ENV} must be positive, got {raw!r}")
        return cls(heartbeat_file=Path(path) if path else None, timeout=timeout)


def heartbeat_age(path: Path, since: float, now: float) -> float:
    """Seconds since the last beat, counting from `since` (the watchdog's start)
    while there has been none: a worker gets one timeout to start consuming."""
    try:
        beat = path.stat().st_mtime
    except FileNotFoundError:
        beat = since
    return now - max(beat, since)


class Watchdog:
    """Checks the heartbeat's age every second in a daemon thread; see the module doc."""

    def __init__(
        self,
        settings: LivenessSettings,
        *,
        clock: Callable[[], float] = time.time,
        terminate: Callable[[], None] = lambda: os.kill(os.getpid(), signal.SIGTERM),
        hard_exit: Callable[[int], Any] = os._exit,
        poll: float = 1.0,
    ) -> None:
        assert settings.heartbeat_file is not None
        self.path = settings.heartbeat_file
        self.settings = settings
        self.clock = clock
        self.terminate = terminate
        self.hard_exit = hard_exit
        self.poll = poll
        self.started_at = clock()
        self.tripped = False
        self._standing_down = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness-watchdog", daemon=True)

    def start(self) -> None:
        # A file left by an earlier process says nothing about this one.
        self.path.unlink(missing_ok=True)
        self.started_at = self.clock()
        worker_shutting_down.connect(self._on_shutting_down, weak=False)
        self._thread.start()

    def stop(self) -> None:
        """Stand down, unless the watchdog asked for this shutdown: then the
        escalation stays armed in case the warm shutdown hangs."""
        self._standing_down.set()
        worker_shutting_down.disconnect(self._on_shutting_down)

    def _on_shutting_down(self, **_: Any) -> None:
        self._standing_down.set()

    def check(self) -> bool:
        """Trips (logs, asks for a warm shutdown) when the heartbeat is too old."""
        age = heartbeat_age(self.path, self.started_at, self.clock())
        if age <= self.settings.timeout:
            return False
        self.tripped = True
        log.error(
            "liveness: no heartbeat in %s for %.1f s (%s=%s): the worker is not consuming "
            "(broker unreachable, or the event loop is stuck). Warm shutdown, so that "
            "the supervisor restarts it; forced exit if it takes over %.0f s.",
            self.path, age, TIMEOUT_ENV, self.settings.timeout, self.settings.grace,
        )  # fmt: skip
        self.terminate()
        return True

    def escalate(self) -> None:
        log.critical(
            "liveness: warm shutdown still running after %.0f s: exiting now",
            self.settings.grace,
        )
        logging.shutdown()  # flush the handlers: os._exit skips that
        self.hard_exit(1)

    def _run(self) -> None:
        while not self._standing_down.wait(self.poll):
            if self.check():
                # Not _standing_down: our own SIGTERM sets it, and a hung warm
                # shutdown is what this wait is for. The daemon thread dies with
                # the process when the shutdown completes in time.
                time.sleep(self.settings.grace)
                self.escalate()
                return


def _settings(app: Celery) -> LivenessSettings:
    settings = app.conf.get(_CONF_KEY)
    return settings if isinstance(settings, LivenessSettings) else LivenessSettings()


class Heartbeat(bootsteps.StartStopStep):
    """Consumer bootstep: touches the heartbeat file while consuming."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.settings = _settings(c.app)
        self.tref: Any = None

    def include_if(self, c: Any) -> bool:
        return self.settings.heartbeat_file is not None

    def start(self, c: Any) -> None:
        self.beat()
        self.tref = c.timer.call_repeatedly(self.settings.interval, self.beat)

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop

    def beat(self) -> None:
        path = self.settings.heartbeat_file
        assert path is not None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as error:  # the watchdog will act on the missing beats
            log.warning("liveness: cannot touch the heartbeat file %s: %s", path, error)


class WatchdogStep(bootsteps.StartStopStep):
    """Worker bootstep: runs the Watchdog for as long as the worker runs."""

    # Started once the pool has forked its processes, so that they do not start
    # life as copies of a process with a second thread.
    requires = ("celery.worker.components:Pool",)

    def __init__(self, w: Any, **kwargs: Any) -> None:
        super().__init__(w, **kwargs)
        self.settings = _settings(w.app)
        self.watchdog: Watchdog | None = None

    def include_if(self, w: Any) -> bool:
        return self.settings.heartbeat_file is not None

    def start(self, w: Any) -> None:
        self.watchdog = Watchdog(self.settings)
        self.watchdog.start()
        log.info(
            "liveness: heartbeat %s every %g s; exit when older than %g s",
            self.settings.heartbeat_file, self.settings.interval, self.settings.timeout,
        )  # fmt: skip

    def stop(self, w: Any) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()

    shutdown = stop


def install(app: Celery, settings: LivenessSettings) -> None:
    """Adds the heartbeat and the watchdog to `app`'s workers, if a file is set."""
    if settings.heartbeat_file is None:
        return
    app.conf[_CONF_KEY] = settings
    app.steps["consumer"].add(Heartbeat)
    app.steps["worker"].add(WatchdogStep)
