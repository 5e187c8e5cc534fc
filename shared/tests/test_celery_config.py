from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from celery import Celery
from kombu.exceptions import OperationalError

from bookshelf_tasks import BookEvent, signature_for
from bookshelf_tasks.celery_config import (
    EMAIL_RETRY_BACKOFF_MAX,
    TASK_HARD_TIME_LIMIT,
    MissingSettingError,
    celery_settings,
    configure,
)
from devstack.ports import free_port

# The web request's whole budget for a failed publish; a closed port should take
# milliseconds, a silent broker about 2 x BROKER_SOCKET_TIMEOUT.
PUBLISH_FAILS_WITHIN = 1.5


def test_settings_are_the_deliberate_ones() -> None:
    conf = celery_settings("redis://broker:6379/0")
    assert conf["accept_content"] == ["json"] and conf["task_serializer"] == "json"
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_soft_time_limit"] < conf["task_time_limit"]
    visibility = conf["broker_transport_options"]["visibility_timeout"]
    assert visibility > EMAIL_RETRY_BACKOFF_MAX + TASK_HARD_TIME_LIMIT
    assert conf["task_publish_retry_policy"]["max_retries"] <= 2
    # Delivery state is Postgres' (bookshelf_tasks.delivery): no result backend, and
    # a task still sending when the broker drops is not cancelled mid-DATA.
    assert conf["task_ignore_result"] and "result_backend" not in conf
    assert conf["worker_cancel_long_running_tasks_on_connection_loss"] is False


def test_broker_url_is_required() -> None:
    with pytest.raises(MissingSettingError, match="CELERY_BROKER_URL"):
        celery_settings("")


def test_configure_pins_the_broker_against_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Celery's conf.broker_url reads this before the app's conf.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://elsewhere.invalid:6379/9")
    app = configure(Celery("pinned"), celery_settings("redis://broker:6379/0"))
    for connection in (app.connection_for_write(), app.connection_for_read()):
        assert (connection.hostname, connection.virtual_host) == ("broker", "0")
    app.close()


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def _time_failed_publish(port: int, event: BookEvent) -> float:
    app = Celery("producer")
    app.conf.update(celery_settings(f"redis://127.0.0.1:{port}/0"))
    started = time.perf_counter()
    with pytest.raises(OperationalError):
        signature_for(event, app=app).apply_async()
    return time.perf_counter() - started


def test_publish_to_a_closed_port_fails_fast(make_event: Callable[..., BookEvent]) -> None:
    port = free_port()  # nothing listens there
    timings = [_time_failed_publish(port, make_event()) for _ in range(3)]
    assert max(timings) < 0.5, timings


def test_publish_to_a_silent_broker_is_bounded(
    make_event: Callable[..., BookEvent], silent_broker: int
) -> None:
    elapsed = _time_failed_publish(silent_broker, make_event())
    assert elapsed < PUBLISH_FAILS_WITHIN, elapsed
