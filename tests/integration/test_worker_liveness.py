"""Liveness with a real worker and a real broker: the heartbeat file is refreshed while
the worker consumes, and a worker that cannot consume (its broker stopped for longer
than CELERY_WORKER_LIVENESS_TIMEOUT) exits by itself, for its supervisor to restart."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from bookshelf_tasks.celery_config import celery_settings, configure
from devstack.broker import BrokerServer
from devstack.process import tail, wait_until
from devstack.worker import STOP_TIMEOUT, CeleryWorker
from tests.integration.worker_faults import CountingSMTP, Publisher, smtp_server

pytestmark = pytest.mark.integration

HEALTHCHECK = Path(__file__).resolve().parents[2] / "services" / "worker" / "healthcheck.sh"

LIVENESS_TIMEOUT = 3.0  # seconds; the heartbeat is touched every 0.75 s
# The watchdog looks every second; the warm shutdown of an idle worker takes a few.
EXIT_DEADLINE = LIVENESS_TIMEOUT + 1 + 15


@pytest.fixture
def liveness_broker(tmp_path: Path) -> Iterator[BrokerServer]:
    broker = BrokerServer(tmp_path / "broker").start()
    yield broker
    broker.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[CountingSMTP, int]]:
    handler = CountingSMTP()
    with smtp_server(handler) as port:
        yield handler, port


def live_worker(
    tmp_path: Path, broker: BrokerServer, smtp_port: int, database_url: str
) -> CeleryWorker:
    return CeleryWorker(
        tmp_path, broker.url, smtp_port, database_url=database_url,
        name=f"liveness-{uuid.uuid4().hex[:6]}",
        extra_env={
            "CELERY_WORKER_HEARTBEAT_FILE": str(tmp_path / "run" / "heartbeat"),
            "CELERY_WORKER_LIVENESS_TIMEOUT": str(LIVENESS_TIMEOUT),
        },
    )  # fmt: skip


def heartbeat_of(tmp_path: Path) -> Path:
    return tmp_path / "run" / "heartbeat"


def healthcheck(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, with the worker container's liveness settings."""
    env = {
        **os.environ,
        "CELERY_WORKER_HEARTBEAT_FILE": str(heartbeat_of(tmp_path)),
        "CELERY_WORKER_LIVENESS_TIMEOUT": str(LIVENESS_TIMEOUT),
    }
    return subprocess.run(
        ["bash", str(HEALTHCHECK)], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_heartbeat_is_refreshed_while_the_worker_consumes(
    tmp_path: Path,
    liveness_broker: BrokerServer,
    smtp: tuple[CountingSMTP, int],
    database_url: str,
) -> None:
    handler, port = smtp
    heartbeat = heartbeat_of(tmp_path)
    producer = configure(Celery("liveness-producer"), celery_settings(liveness_broker.url))
    publisher = Publisher(producer, database_url)
    with live_worker(tmp_path, liveness_broker, port, database_url) as worker:
        assert wait_until(heartbeat.exists, 10), tail(worker.log_path)
        beats = {heartbeat.stat().st_mtime}

        def refreshed() -> bool:
            beats.add(heartbeat.stat().st_mtime)
            return len(beats) >= 4

        assert wait_until(refreshed, 4 * LIVENESS_TIMEOUT), tail(worker.log_path)
        # Longer than the timeout, idle but connected: the watchdog leaves it alone.
        assert worker.process.running
        address = publisher.publish("liveness")
        assert address is not None
        assert wait_until(lambda: handler.count(address) == 1, 15), tail(worker.log_path)
        assert time.time() - heartbeat.stat().st_mtime < LIVENESS_TIMEOUT
        assert "liveness: no heartbeat" not in worker.log_path.read_text()
        health = healthcheck(tmp_path)
        assert health.returncode == 0, health.stdout + health.stderr
    publisher.close()
    producer.close()


def test_a_worker_whose_broker_stays_down_exits_by_itself(
    tmp_path: Path,
    liveness_broker: BrokerServer,
    smtp: tuple[CountingSMTP, int],
    database_url: str,
) -> None:
    _, port = smtp
    heartbeat = heartbeat_of(tmp_path)
    with live_worker(tmp_path, liveness_broker, port, database_url) as worker:
        assert wait_until(heartbeat.exists, 10), tail(worker.log_path)
        proc = worker.process.proc
        assert proc is not None

        liveness_broker.stop()  # and it stays down
        stopped = time.monotonic()
        assert wait_until(lambda: proc.poll() is not None, EXIT_DEADLINE), tail(worker.log_path)
        took = time.monotonic() - stopped

        log = worker.log_path.read_text()
        assert "liveness: no heartbeat" in log, tail(worker.log_path, 60)
        assert "Warm shutdown" in log  # the gentle way worked: no forced exit
        assert "exiting now" not in log
        assert LIVENESS_TIMEOUT < took < EXIT_DEADLINE
        assert proc.wait(STOP_TIMEOUT) == 0
        # The heartbeat stopped with the connection: it is stale, not refreshed.
        assert time.time() - heartbeat.stat().st_mtime > LIVENESS_TIMEOUT
        # (healthcheck.sh counts whole seconds: give it the next one.)
        assert wait_until(lambda: "unhealthy: last heartbeat" in healthcheck(tmp_path).stdout, 3)
