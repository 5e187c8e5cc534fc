"""The worker's Celery app, as the command line loads it:

    celery -A bookshelf_worker.celery_app:celery_app worker -Q email --loglevel INFO

Importing this module builds the app from the environment; tests use app.create_app.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.signals import beat_init, worker_ready, worker_shutdown

from bookshelf_worker import liveness
from bookshelf_worker.app import create_app
from bookshelf_worker.config import ConfigError


def _ready_file() -> Path | None:
    path = os.environ.get("CELERY_WORKER_READY_FILE", "").strip()
    return Path(path) if path else None


@worker_ready.connect
def _mark_ready(**_: Any) -> None:
    """Readiness for the local launcher (devstack); the container's healthcheck
    (healthcheck.sh) does not read this file."""
    path = _ready_file()
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n")


@worker_shutdown.connect
def _unmark_ready(**_: Any) -> None:
    path = _ready_file()
    if path:
        path.unlink(missing_ok=True)


@beat_init.connect
def _mark_beat_ready(**_: Any) -> None:
    """Readiness of `celery beat` for the local launcher (CELERY_BEAT_READY_FILE)."""
    path = os.environ.get("CELERY_BEAT_READY_FILE", "").strip()
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(f"{os.getpid()}\n")


try:
    flask_app = create_app()
    # The heartbeat and its watchdog (liveness.py), when CELERY_WORKER_HEARTBEAT_FILE
    # is set: only where a supervisor restarts a worker that exits.
    liveness.install(flask_app.extensions["celery"], liveness.LivenessSettings.from_env())
except ConfigError as error:
    # Celery would bury this in "Unable to load celery application" and a traceback.
    raise SystemExit(f"bookshelf-worker cannot start: {error}") from None
celery_app = flask_app.extensions["celery"]
