"""The web's Celery app: publish-only, built in `create_app` from the shared settings.

The web never imports bookshelf_worker: it sends tasks by name through the shared
signature builders (bookshelf_tasks). It reads no task state: delivery state is the
outbox row's (bookshelf_tasks.delivery).
"""

from __future__ import annotations

from celery import Celery
from flask import Flask, current_app

from bookshelf_tasks.celery_config import BROKER_CONNECT_TIMEOUT, celery_settings, configure


def init_app(app: Flask) -> Celery:
    celery = configure(
        Celery(app.import_name, set_as_current=False),
        celery_settings(app.config["CELERY_BROKER_URL"]),
    )
    app.extensions["celery"] = celery
    return celery


def producer() -> Celery:
    celery: Celery = current_app.extensions["celery"]
    return celery


def ping_broker() -> None:
    """Raise unless the broker answers PING; bounded by the shared socket timeouts."""
    with producer().connection_for_write() as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT
        )
        connection.default_channel.client.ping()
