"""The processes of a running LocalStack, found by looking rather than by a fixed list,
so that a service added to devstack later (the outbox relay was) is measured too."""

from __future__ import annotations

from devstack.process import ManagedProcess
from devstack.stack import LocalStack


def managed_processes(stack: LocalStack) -> dict[str, ManagedProcess]:
    """attribute name -> its running process: a ManagedProcess attribute, or a server
    object holding one as `.process`. Postgres daemonises through pg_ctl: not here."""
    found: dict[str, ManagedProcess] = {}
    for name, value in vars(stack).items():
        process = value if isinstance(value, ManagedProcess) else getattr(value, "process", None)
        if isinstance(process, ManagedProcess) and process.running:
            found[name] = process
    return found


def relay_of(stack: LocalStack) -> ManagedProcess | None:
    """The outbox relay (it re-sends pending email events), if this stack runs one."""
    return next((p for name, p in managed_processes(stack).items() if "relay" in name), None)


def postmaster_pid(stack: LocalStack) -> int:
    return int((stack.postgres.data_dir / "postmaster.pid").read_text().split()[0])
