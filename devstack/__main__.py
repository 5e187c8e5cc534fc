"""`make dev`: the whole stack as local processes until Ctrl-C or SIGTERM.
`python -m devstack reset` (`make dev-reset`): wipe the data it kept.

Runtime state and logs go to `.devstack/` (git-ignored), emptied at each start except
`.devstack/data/`: the database (users, books, tokens, emails' states) and the secret
key that signs the sessions, so a restart keeps them and the logged-in browser. The
start-up summary says where that is and lists every log file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from devstack.gunicorn import REPO
from devstack.process import StackError
from devstack.stack import RELAY_INTERVAL_S, LocalStack

# DEVSTACK_DIR: another folder, for the test that restarts `make dev`.
STATE_DIR = Path(os.environ.get("DEVSTACK_DIR") or REPO / ".devstack")
DATA_DIR = STATE_DIR / "data"
PID_FILE = STATE_DIR / "devstack.pid"


def running_instance() -> int | None:
    """The pid of a `make dev` that still runs on this state dir, if any."""
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def secret_key() -> str:
    """The dev stack's SECRET_KEY, made once and kept in DATA_DIR."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def empty_state_dir() -> None:
    """Everything of the last run but its data."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    for entry in STATE_DIR.iterdir():
        if entry != DATA_DIR:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def reset() -> int:
    other = running_instance()
    if other is not None:
        print(f"`make dev` runs (pid {other}); stop it before wiping its data.", file=sys.stderr)
        return 1
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    print(f"Wiped {shown(DATA_DIR)}: the next `make dev` starts with an empty database.")
    return 0


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
        f"  Data:            {shown(DATA_DIR)} (kept across restarts; `make dev-reset`"
        f" wipes it)\n"
        f"  Logs:\n{logs}\n"
        f"  Started in {stack.cold_start_seconds:.1f}s. Ctrl-C stops everything."
    )


def main(argv: list[str]) -> int:
    if argv == ["reset"]:
        return reset()
    if argv:
        print("usage: python -m devstack [reset]", file=sys.stderr)
        return 2
    other = running_instance()
    if other is not None:
        print(f"`make dev` already runs (pid {other}); stop it first.", file=sys.stderr)
        return 1
    empty_state_dir()
    PID_FILE.write_text(str(os.getpid()))
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        print(f"\n{signal.Signals(signum).name}: stopping…", flush=True)
        stop_requested.set()

    # Set before starting, so a Ctrl-C during start-up also stops what already runs.
    signal.signal(signal.SIGTERM, request_stop)
    print(
        "Starting Postgres, broker, mail catcher, web, worker, beat, relay and nginx…", flush=True
    )
    stack = LocalStack(
        STATE_DIR,
        env_overrides={"SECRET_KEY": secret_key()},
        postgres_dir=DATA_DIR / "postgres",
    )
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
    sys.exit(main(sys.argv[1:]))
