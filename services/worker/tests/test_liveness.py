"""The liveness pieces alone: settings from the environment, the watchdog's decisions
on a clock the test moves, the heartbeat step on kombu's real timer, and what
install() adds to a Celery app (tests/integration/test_worker_liveness.py runs them
in a real worker)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import Celery
from celery.signals import worker_shutting_down
from kombu.asynchronous.timer import Timer

from bookshelf_worker.config import ConfigError
from bookshelf_worker.liveness import (
    DEFAULT_TIMEOUT,
    Heartbeat,
    LivenessSettings,
    Watchdog,
    WatchdogStep,
    heartbeat_age,
    install,
)
from devstack.process import wait_until


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Calls:
    def __init__(self) -> None:
        self.terminated = 0
        self.exited: list[int] = []
        self.exit_called = threading.Event()

    def terminate(self) -> None:
        self.terminated += 1

    def hard_exit(self, code: int) -> None:
        self.exited.append(code)
        self.exit_called.set()


def test_settings_default_to_no_heartbeat_and_two_minutes() -> None:
    settings = LivenessSettings.from_env({})
    assert settings.heartbeat_file is None
    assert settings.timeout == DEFAULT_TIMEOUT == 120
    assert settings.interval == 10  # capped: several beats fit in any timeout


def test_settings_read_the_file_and_timeout() -> None:
    settings = LivenessSettings.from_env(
        {"CELERY_WORKER_HEARTBEAT_FILE": " /tmp/hb ", "CELERY_WORKER_LIVENESS_TIMEOUT": "3"}
    )
    assert settings.heartbeat_file == Path("/tmp/hb")
    assert (settings.timeout, settings.interval) == (3.0, 0.75)


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "nan"])
def test_a_bad_timeout_stops_start_up_with_its_name(raw: str) -> None:
    with pytest.raises(ConfigError, match="CELERY_WORKER_LIVENESS_TIMEOUT"):
        LivenessSettings.from_env({"CELERY_WORKER_LIVENESS_TIMEOUT": raw})


def test_age_counts_from_the_start_until_the_first_beat(tmp_path: Path) -> None:
    path = tmp_path / "hb"
    assert heartbeat_age(path, since=100.0, now=130.0) == 30.0
    path.touch()
    os.utime(path, (120.0, 120.0))
    assert heartbeat_age(path, since=100.0, now=130.0) == 10.0
    assert heartbeat_age(path, since=125.0, now=130.0) == 5.0  # a leftover is no beat


def watchdog(tmp_path: Path, clock: Clock, calls: Calls, grace: float = 60.0) -> Watchdog:
    settings = LivenessSettings(heartbeat_file=tmp_path / "hb", timeout=10.0, grace=grace)
    return Watchdog(settings, clock=clock, terminate=calls.terminate, hard_exit=calls.hard_exit)


def test_the_watchdog_asks_for_a_warm_shutdown_when_the_beat_is_too_old(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, calls = Clock(990.0), Calls()
    dog = watchdog(tmp_path, clock, calls)  # started at 990
    dog.path.touch()
    os.utime(dog.path, (995.0, 995.0))
    clock.now = 1000.0

    assert not dog.check() and calls.terminated == 0  # 5 s old
    clock.now = 1005.0
    assert not dog.check()  # exactly the timeout: still alive
    clock.now = 1005.5
    assert dog.check() and calls.terminated == 1 and dog.tripped
    assert "no heartbeat" in caplog.text and "CELERY_WORKER_LIVENESS_TIMEOUT" in caplog.text
    assert calls.exited == []  # the escalation is the thread's, after the grace


def test_the_watchdog_gives_a_new_worker_one_timeout_to_start_consuming(tmp_path: Path) -> None:
    clock, calls = Clock(1000.0), Calls()
    dog = watchdog(tmp_path, clock, calls)
    dog.path.touch()  # left by the previous process
    os.utime(dog.path, (0.0, 0.0))
    dog.poll = 3600  # the thread stays asleep: this test calls check() itself
    dog.start()
    try:
        assert not dog.path.exists()
        clock.now = 1009.0
        assert not dog.check()
        clock.now = 1011.0
        assert dog.check()
    finally:
        dog.stop()


def test_the_watchdog_forces_the_exit_when_the_warm_shutdown_hangs(tmp_path: Path) -> None:
    calls = Calls()
    settings = LivenessSettings(heartbeat_file=tmp_path / "hb", timeout=0.1, grace=0.2)
    dog = Watchdog(settings, terminate=calls.terminate, hard_exit=calls.hard_exit, poll=0.05)
    dog.start()
    # Our own SIGTERM makes Celery send worker_shutting_down: the escalation stays armed.
    assert wait_until(lambda: calls.terminated == 1, 5)
    worker_shutting_down.send(sender="test", sig="SIGTERM", how="Warm", exitcode=0)
    dog.stop()
    assert calls.exit_called.wait(5)
    assert calls.exited == [1]


def test_the_watchdog_stands_down_when_someone_else_shuts_the_worker_down(
    tmp_path: Path,
) -> None:
    calls = Calls()
    settings = LivenessSettings(heartbeat_file=tmp_path / "hb", timeout=0.2, grace=0.1)
    dog = Watchdog(settings, terminate=calls.terminate, hard_exit=calls.hard_exit, poll=0.05)
    dog.start()
    worker_shutting_down.send(sender="test", sig="SIGTERM", how="Warm", exitcode=0)
    dog._thread.join(2)
    assert not dog._thread.is_alive()
    assert (calls.terminated, calls.exited) == (0, [])
    dog.stop()


def test_the_heartbeat_step_beats_on_the_consumer_timer_until_stopped(tmp_path: Path) -> None:
    app = Celery("liveness-test")
    install(app, LivenessSettings(heartbeat_file=tmp_path / "run" / "hb", timeout=4.0))
    timer = Timer()
    consumer = SimpleNamespace(app=app, timer=timer)
    step = Heartbeat(consumer)
    assert step.include_if(consumer)

    step.start(consumer)
    heartbeat = tmp_path / "run" / "hb"
    assert heartbeat.exists()  # at once, not after the first interval
    entry = step.tref
    assert len(timer) == 1 and not entry.canceled
    os.utime(heartbeat, (0.0, 0.0))
    entry()  # what the event loop does every `interval` (1 s here)
    assert heartbeat.stat().st_mtime > 0

    step.stop(consumer)  # the connection was lost
    assert entry.canceled and step.tref is None


def test_install_adds_both_steps_only_with_a_heartbeat_file(tmp_path: Path) -> None:
    without, with_file = Celery("without"), Celery("with")
    install(without, LivenessSettings())
    install(with_file, LivenessSettings(heartbeat_file=tmp_path / "hb"))

    assert Heartbeat not in without.steps["consumer"]
    assert WatchdogStep not in without.steps["worker"]
    assert Heartbeat in with_file.steps["consumer"]
    assert WatchdogStep in with_file.steps["worker"]
