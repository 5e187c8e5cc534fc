"""The processes of a running LocalStack, read from `stack.services` (the list `make dev`
and the tests read too), so that a service added to devstack later is measured too."""

from __future__ import annotations

from devstack.process import ManagedProcess
from devstack.stack import LocalStack


def managed_processes(stack: LocalStack) -> dict[str, ManagedProcess]:
    """service name -> its running process. Postgres daemonises through pg_ctl: not here."""
    return {
        service.name: service.process
        for service in stack.services
        if service.process is not None and service.process.running
    }


def postmaster_pid(stack: LocalStack) -> int:
    return int((stack.postgres.data_dir / "postmaster.pid").read_text().split()[0])
