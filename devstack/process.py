"""One child process with its own log file, a readiness deadline and a clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self


class StackError(RuntimeError):
    """A service did not come up; the message names it and quotes its log."""


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `check` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return True
        except StackError:
            raise
        except Exception:  # noqa: BLE001, S110 - a failing probe just means "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def lower_autogroup(pid: int, niceness: int) -> None:
    """With the kernel's autogroup scheduling on (Debian's default), each session is a
    scheduling group and a process's nice value only ranks it inside its own: a new
    session (start_new_session) gets its CPU share from its group's nice instead
    (sched(7), "The autogroup feature"). Raising it needs no privilege; without
    autogroup the file is missing and the process's own nice value is what counts."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(f"{niceness}\n")


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout: float = 20.0,
        niceness: int = 0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        # Lower CPU priority for it and its children (0: the default), at every start.
        self.niceness = niceness
        self.proc: subprocess.Popen[bytes] | None = None
        # Meant to be running: set by start(), cleared by stop(). A supervisor restarts a
        # process that is wanted but not running, never one that was stopped on purpose.
        self.wanted = False

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = ["nice", "-n", str(self.niceness), *self.argv] if self.niceness else self.argv
        with open(self.log_path, "ab") as log:
            # Own process group, so that stop() also reaches the children
            # (gunicorn and Celery fork their workers).
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        if self.niceness:
            lower_autogroup(self.proc.pid, self.niceness)
        self.wanted = True
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """None while it runs (or never ran); else its code, negative for a signal."""
        return None if self.proc is None else self.proc.poll()

    def send_signal(self, signum: int) -> int:
        """`signum` to the main process only (a fault test's crash); returns its pid."""
        if self.proc is None or self.proc.poll() is not None:
            raise StackError(f"{self.name} is not running")
        self.proc.send_signal(signum)
        return self.proc.pid

    def wait_ready(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait for `check`; fail fast if the process died, with its log tail."""

        def ready() -> bool:
            if not self.running:
                raise StackError(self._failure("exited early"))
            return check()

        if not wait_until(ready, timeout):
            raise StackError(self._failure(f"was not ready after {timeout:.0f}s"))

    def _failure(self, what: str) -> str:
        code = self.proc.poll() if self.proc else None
        status = f" (exit code {code})" if code is not None else ""
        return (
            f"{self.name} {what}{status}.\n"
            f"command: {' '.join(self.argv)}\n"
            f"last lines of {self.log_path}:\n{tail(self.log_path)}"
        )

    def stop(self) -> None:
        """SIGTERM the main process only, as `docker stop` does to PID 1, so that
        gunicorn, Celery and nginx shut down warmly and stop their own children (a
        group-wide SIGTERM would kill Celery's pool mid-send). Whatever is left of the
        group after the grace period, or after the main process exits, gets SIGKILL.
        Also clears what is left of a process that died by itself (its children)."""
        self.wanted = False
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(self.stop_timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # group already gone
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)


class ProcessServer:
    """A server that is one ManagedProcess: `start` prepares what it reads, starts it
    and returns once `ready()`; `stop` stops it. Also a context manager."""

    process: ManagedProcess
    start_timeout: float = 15.0

    def prepare(self) -> None:
        """Write what the process needs before it starts (a config file, a folder)."""

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float | None = None) -> Self:
        self.prepare()
        self.process.start()
        self.process.wait_ready(self.ready, self.start_timeout if timeout is None else timeout)
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
