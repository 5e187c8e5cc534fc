"""`make dev`: the whole stack as local processes until Ctrl-C or SIGTERM.

State and logs go to `.devstack/` (git-ignored), emptied at each start; Postgres
keeps its log in its own temporary dir. The start-up summary lists every log file.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devstack.gunicorn import REPO
from devstack.process import StackError
from devstack.stack import RELAY_INTERVAL_S, LocalStack

STATE_DIR = REPO / ".devstack"


PID_FILE = STATE_DIR / "devstack.pid"


def running_instance() -> int | None:
    """The pid of a `make dev` that still runs on this state dir, if any."""
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def log_files(stack: LocalStack) -> dict[str, Path]:
    """Where each service of `stack` logs (stack.services); Postgres keeps its own
    outside STATE_DIR."""
    return stack.log_files()


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def summary(stack: LocalStack) -> str:
    width = max(map(len, log_files(stack)))
    supervised = ", ".join(s.name for s in stack.services if s.supervised)
    logs = "\n".join(
        f"    {name:<{width}}  {shown(path)}" for name, path in log_files(stack).items()
    )
    return (
        f"\n  App (via nginx): {stack.base_url}/\n"
        f"  Broker:          {stack.broker.flavour} ({stack.broker.url.split('@')[-1]})\n"
        f"  {stack.catcher + ':':<17}{stack.mail_ui_url or stack.mail_api_url + ' (API only)'}\n"
        f"  Outbox relay:    publishes each email at its commit; sweeps every"
        f" {RELAY_INTERVAL_S}s\n"
        f"  Supervisor:      restarts {supervised} if one exits\n"
        f"  Logs:\n{logs}\n"
        f"  Started in {stack.cold_start_seconds:.1f}s. Ctrl-C stops everything."
    )


def main() -> int:
    other = running_instance()
    if other is not None:
        print(f"`make dev` already runs (pid {other}); stop it first.", file=sys.stderr)
        return 1
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    STATE_DIR.mkdir(parents=True)
    PID_FILE.write_text(str(os.getpid()))
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        print(f"\n{signal.Signals(signum).name}: stopping…", flush=True)
        stop_requested.set()

    # Set before starting, so a Ctrl-C during start-up also stops what already runs.
    signal.signal(signal.SIGTERM, request_stop)
    print("Starting Postgres, broker, mail catcher, web, worker, relay and nginx…", flush=True)
    stack = LocalStack(STATE_DIR)
    try:
        stack.start()
    except (StackError, KeyboardInterrupt) as exc:
        print(f"The stack did not start: {exc}", file=sys.stderr)
        PID_FILE.unlink(missing_ok=True)
        return 1
    signal.signal(signal.SIGINT, request_stop)
    try:
        print(summary(stack), flush=True)
        stop_requested.wait()
    finally:
        stack.stop()
        PID_FILE.unlink(missing_ok=True)
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
