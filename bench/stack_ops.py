"""What the goal benchmarks do to a running LocalStack: switch the email path off and on,
start extra workers, queue emails, read the outbox and the CPU time of each service."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

from kombu import Connection
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench.proc_tree import cpu_seconds
from bench.stack_parts import managed_processes, postmaster_pid
from bookshelf_tasks.names import EMAIL_QUEUE
from devstack.stack import LocalStack
from devstack.worker import CeleryWorker

# The relay and the worker: with both stopped, an add does the same work (the book and
# its outbox row, one commit) and nothing is published or sent.
EMAIL_PATH = ("outbox-relay", "worker")
IN_FLIGHT = "('pending', 'queued', 'sending', 'retrying')"


def in_parallel(steps: Sequence[Callable[[], object]]) -> None:
    if not steps:
        return
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        for future in [pool.submit(step) for step in steps]:
            future.result()


def email_path_off(stack: LocalStack) -> None:
    in_parallel([partial(stack.stop_service, name) for name in EMAIL_PATH])


def email_path_on(stack: LocalStack, niceness: int | None = None) -> None:
    """Start the relay and the worker; at `niceness` if given (devstack.stack's
    EMAIL_NICENESS: the CPU share they run at locally; 0: the same share as web)."""
    if niceness is not None:
        stack.relay.niceness = stack.worker.process.niceness = niceness
    in_parallel([partial(stack.start_service, name) for name in EMAIL_PATH])


# --- extra workers ----------------------------------------------------------
def extra_worker(stack: LocalStack, name: str, smtp_port: int) -> CeleryWorker:
    """A worker as `docker compose` runs it (the image's pool and concurrency: no
    --concurrency), on the stack's broker and Postgres, sending to `smtp_port`."""
    return CeleryWorker(
        stack.workdir / "bench-workers",
        broker_url=stack.broker.url,
        smtp_port=smtp_port,
        mail_sender=stack.env["MAIL_DEFAULT_SENDER"],
        database_url=stack.env["DATABASE_URL"],
        concurrency=None,
        name=name,
        extra_env={k: v for k, v in stack.env.items() if k.startswith("OUTBOX_")},
    )


@contextmanager
def running(workers: Sequence[CeleryWorker]) -> Iterator[None]:
    """Start `workers` in parallel; stop them in parallel at the end, whatever happens."""
    try:
        in_parallel([worker.start for worker in workers])
        yield
    finally:
        in_parallel([worker.stop for worker in workers])


# --- the outbox -------------------------------------------------------------
class Outbox:
    """SQL on the stack's email_events (bookshelf_tasks.delivery's table)."""

    def __init__(self, stack: LocalStack) -> None:
        self.engine: Engine = create_engine(stack.env["DATABASE_URL"], pool_size=1)
        self.broker_url = stack.broker.url

    def close(self) -> None:
        self.engine.dispose()

    def scalar(self, sql: str, **params: object) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text(sql), params).scalar() or 0)

    def in_flight(self, address: str | None = None) -> int:
        """Rows not settled yet (all, or those emailing `address`)."""
        where = "" if address is None else " AND payload->>'user_email' = :address"
        return self.scalar(
            f"SELECT count(*) FROM email_events WHERE status IN {IN_FLIGHT}{where}",  # noqa: S608
            address=address,
        )

    def given_up(self, address: str) -> int:
        """Rows emailing `address` that ended without a 250: failed or uncertain."""
        return self.scalar(
            "SELECT count(*) FROM email_events "
            "WHERE status IN ('failed', 'uncertain') AND payload->>'user_email' = :address",
            address=address,
        )

    def pending(self, address: str) -> int:
        return self.scalar(
            "SELECT count(*) FROM email_events "
            "WHERE status = 'pending' AND payload->>'user_email' = :address",
            address=address,
        )

    def wait(self, done: Callable[[], bool], timeout: float, interval: float = 0.1) -> float:
        """Poll until `done()`; how long it took. Raises at the deadline."""
        began = time.monotonic()
        while not done():
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"not done after {timeout:.0f} s: {done}")
            time.sleep(interval)
        return time.monotonic() - began

    def settle(self, timeout: float) -> float:
        """Wait until every email is settled (sent, failed...): no backlog left behind."""
        return self.wait(lambda: self.in_flight() == 0, timeout, interval=0.2)

    def delete_unsent(self, address: str | None = None) -> int:
        """Drop the rows still pending or queued (all, or those emailing `address`):
        emails the bench no longer wants sent (a no-op run's adds, the leftovers of a
        throughput run), which would otherwise load the next measurement."""
        where = "" if address is None else " AND payload->>'user_email' = :address"
        with self.engine.begin() as connection:
            result = connection.execute(
                text(f"DELETE FROM email_events WHERE status IN ('pending', 'queued'){where}"),  # noqa: S608
                {"address": address},
            )
        return int(result.rowcount or 0)

    def purge_queue(self) -> int:
        """Empty the broker's email queue (with no worker running)."""
        with Connection(self.broker_url) as connection:
            return int(connection.default_channel.queue_purge(EMAIL_QUEUE) or 0)

    def seed(self, address: str, count: int) -> None:
        """Queue `count` emails to `address` the way an add does: outbox rows committed
        'pending' and due now, whose INSERT wakes the relay, which publishes them. Each
        is a copy of the newest real event (same book, same user) with its own event id,
        so `count` can be thousands without as many HTTP adds."""
        if count <= 0:
            return
        # Cast to json: also assignable to a jsonb column (an assignment cast).
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO email_events (id, owner_id, kind, payload, status, attempts, "
                    "publications, due_at, created_at) "
                    "SELECT ids.id, t.owner_id, t.kind, CAST(jsonb_set(jsonb_set("
                    "CAST(t.payload AS jsonb), '{event_id}', to_jsonb(ids.id)), "
                    "'{user_email}', to_jsonb(CAST(:address AS text))) AS json), "
                    "'pending', 0, 0, now(), now() "
                    "FROM (SELECT * FROM email_events ORDER BY created_at DESC LIMIT 1) t, "
                    "(SELECT CAST(gen_random_uuid() AS text) AS id "
                    " FROM generate_series(1, :count)) ids"
                ),
                {"address": address, "count": count},
            )


# --- CPU time -------------------------------------------------------------
def service_pids(stack: LocalStack) -> dict[str, int]:
    """service name -> pid of its top process, for the running ones."""
    pids = {"postgres": postmaster_pid(stack)}
    for name, process in managed_processes(stack).items():
        if process.proc is not None:
            pids[name] = process.proc.pid
    return pids


def cpu_reading(stack: LocalStack, extra: Sequence[CeleryWorker] = ()) -> dict[str, float]:
    """CPU seconds so far of each running service's process tree (and extra workers)."""
    reading = {name: cpu_seconds(pid) for name, pid in service_pids(stack).items()}
    for worker in extra:
        if worker.process.proc is not None and worker.process.running:
            reading[worker.process.name] = cpu_seconds(worker.process.proc.pid)
    return reading


def cpu_ms_per(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """CPU milliseconds per unit (an add, an email) of each service, between two readings."""
    if count <= 0:
        return {}
    return {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / count, 2)
        for name in after
        if name in before
    }
