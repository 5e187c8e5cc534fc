"""The web app's Celery: publish-only, built from bookshelf_tasks' shared settings.

The web never imports bookshelf_worker: it sends tasks by name through the shared
signature builders and reads their state from the result backend. One Celery app
per Flask app, made on first use and kept in `app.extensions["celery"]`.
"""

from __future__ import annotations

import threading

from celery import Celery
from flask import Flask, current_app

from bookshelf_tasks.celery_config import BROKER_CONNECT_TIMEOUT, configure, producer_settings

_lock = threading.Lock()


def make_producer(app: Flask) -> Celery:
    # configure(), not conf.update(): os.environ's CELERY_RESULT_BACKEND would
    # otherwise replace the state-only backend with Celery's plain RedisBackend.
    return configure(
        Celery(app.import_name, set_as_current=False),
        producer_settings(app.config["CELERY_BROKER_URL"], app.config.get("CELERY_RESULT_BACKEND")),
    )


def producer(app: Flask | None = None) -> Celery:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    celery = app.extensions.get("celery")
    if celery is None:
        with _lock:
            celery = app.extensions.get("celery")
            if celery is None:
                celery = app.extensions["celery"] = make_producer(app)
    return celery


def ping_broker() -> None:
    """Raise unless the broker answers PING; bounded by the shared socket timeouts."""
    with producer().connection_for_write() as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT
        )
        connection.default_channel.client.ping()
