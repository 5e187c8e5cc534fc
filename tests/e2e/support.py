"""Typed helpers of the e2e suite (fixtures are in conftest.py): where the tests find
the stack, and the figures they measure.

Where the stack is: E2E_STACK=auto|local|docker.

- local:  devstack.stack.LocalStack, every service a local process on free ports.
- docker: testcontainers' DockerCompose on compose.yaml (nginx on 8080, the mail
          catcher's API on 8025).
- E2E_BASE_URL + E2E_MAIL_URL set (and E2E_STACK is not `local`): attach to that
          already-running stack, start and stop nothing.

Which mail catcher answers is MAIL_CATCHER (mailhog|mailpit), as for compose and devstack.
- auto:   docker when a Docker engine answers `docker info`, else local. The default
          when E2E_STACK is unset; the Makefile sets `local` unless told otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from bench.stats import RESULTS_DIR
from devstack.flavours import DEFAULT_CATCHER, catcher_choice, mailbox
from devstack.process import StackError, wait_until

if TYPE_CHECKING:
    from devstack.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
MODES = ("auto", "local", "docker")
DOCKER_APP_URL = "http://localhost:8080"
DOCKER_MAIL_URL = "http://localhost:8025"
# The figures the suite measures: printed in pytest's summary, saved under bench/results/.
FIGURES: dict[str, Any] = {}


@dataclass(frozen=True)
class StackUrls:
    base_url: str  # the app, through nginx
    mail_api_url: str
    mail_ui_url: str | None  # None: the catcher runs without its web UI
    mode: str
    mail_catcher: str = DEFAULT_CATCHER
    cold_start_seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # The processes themselves, for the scenarios that stop one (local mode only).
    local: LocalStack | None = field(default=None, compare=False, repr=False)


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def chosen_mode(environ: Mapping[str, str]) -> str:
    mode = environ.get("E2E_STACK", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise StackError(f"E2E_STACK must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "auto":
        return "docker" if docker_engine_answers() else "local"
    return mode


@contextmanager
def local_stack(keep_logs: Callable[[], bool] = lambda: False) -> Iterator[StackUrls]:
    """LocalStack; its logs outlive it when `keep_logs()` says so at the end (a test failed)."""
    from devstack.stack import LocalStack

    stack = LocalStack(keep_workdir=True)
    try:
        with stack:
            yield StackUrls(
                base_url=stack.base_url,
                mail_api_url=stack.mail_api_url,
                mail_ui_url=stack.mail_ui_url,
                mode="local",
                mail_catcher=stack.catcher,
                cold_start_seconds=stack.cold_start_seconds,
                timings=dict(stack.timings),
                local=stack,
            )
    finally:
        if keep_logs():
            record_figure("stack_logs_kept_in", str(stack.workdir))
        else:
            shutil.rmtree(stack.workdir, ignore_errors=True)


def wait_for_http(name: str, url: str, timeout: float) -> None:
    if not wait_until(lambda: requests.get(url, timeout=2).ok, timeout, interval=0.5):
        raise StackError(f"{name} did not answer at {url} within {timeout:.0f}s")


def wait_for_mailbox(catcher: str, url: str, timeout: float) -> None:
    if not wait_until(mailbox(catcher, url).ping, timeout, interval=0.5):
        raise StackError(f"{catcher} did not answer at {url} within {timeout:.0f}s")


@contextmanager
def attached_stack(base_url: str, mail_url: str, catcher: str) -> Iterator[StackUrls]:
    base_url, mail_url = base_url.rstrip("/"), mail_url.rstrip("/")
    wait_for_http("web (via nginx)", f"{base_url}/healthz", timeout=60)
    wait_for_mailbox(catcher, mail_url, timeout=30)
    yield StackUrls(base_url, mail_url, f"{mail_url}/", mode="attached", mail_catcher=catcher)


@contextmanager
def docker_stack(catcher: str) -> Iterator[StackUrls]:
    from testcontainers.compose import DockerCompose

    compose = DockerCompose(context=REPO, compose_file_name="compose.yaml", build=True, wait=True)
    began = time.perf_counter()
    compose.start()
    try:
        try:
            wait_for_http("web (via nginx)", f"{DOCKER_APP_URL}/healthz", timeout=120)
            wait_for_mailbox(catcher, DOCKER_MAIL_URL, 60)
        except StackError as exc:
            stdout, stderr = compose.get_logs()
            raise StackError(
                f"{exc}\n--- compose logs ---\n{stdout[-4000:]}{stderr[-4000:]}"
            ) from exc
        yield StackUrls(
            DOCKER_APP_URL,
            DOCKER_MAIL_URL,
            f"{DOCKER_MAIL_URL}/",
            mode="docker",
            mail_catcher=catcher,
            cold_start_seconds=time.perf_counter() - began,
        )
    finally:
        # down --volumes: the next run starts from an empty database and mailbox.
        compose.stop(down=True)


def selected_mode(environ: Mapping[str, str] | None = None) -> str:
    """`attached`, `local` or `docker`: what running_stack() will do."""
    environ = os.environ if environ is None else environ
    attach = bool(environ.get("E2E_BASE_URL") and environ.get("E2E_MAIL_URL"))
    if attach and environ.get("E2E_STACK", "auto").strip().lower() != "local":
        return "attached"
    return chosen_mode(environ)


@contextmanager
def running_stack(
    environ: Mapping[str, str] | None = None, keep_logs: Callable[[], bool] = lambda: False
) -> Iterator[StackUrls]:
    environ = os.environ if environ is None else environ
    mode = selected_mode(environ)
    catcher = catcher_choice(environ)
    if mode == "attached":
        with attached_stack(environ["E2E_BASE_URL"], environ["E2E_MAIL_URL"], catcher) as urls:
            yield urls
    elif mode == "local":
        with local_stack(keep_logs) as urls:
            yield urls
    else:
        with docker_stack(catcher) as urls:
            yield urls


# --- Figures ------------------------------------------------------------------------


def record_figure(name: str, value: Any) -> None:
    FIGURES[name] = value


def save_figures() -> Path | None:
    if not FIGURES:
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    # A flavour run (devstack.flavour_runs) names its own file, keeping the main run's.
    path = RESULTS_DIR / f"{os.environ.get('E2E_FIGURES_NAME') or 'e2e'}.json"
    path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
    return path
