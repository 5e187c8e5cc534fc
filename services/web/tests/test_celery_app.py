"""The web's producer takes its broker and result backend from the app's config.

Celery's own settings read CELERY_BROKER_URL and CELERY_RESULT_BACKEND from os.environ
before the app's conf (celery/app/utils.py). The local stack and compose set both, so
without a pin the producer would silently run Celery's plain RedisBackend (a pub/sub
subscription per task) instead of the state-only one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from bookshelf.celery_app import producer
from bookshelf_tasks.results import StateOnlyRedisBackend

CONFIGURED = "redis://127.0.0.1:6390/3"
ELSEWHERE = "redis://elsewhere.invalid:6379/9"


def test_env_result_backend_does_not_replace_the_state_only_backend(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELERY_RESULT_BACKEND", ELSEWHERE)
    app = make_app(CELERY_BROKER_URL=CONFIGURED, CELERY_RESULT_BACKEND=CONFIGURED)
    backend = producer(app).backend
    assert type(backend) is StateOnlyRedisBackend
    assert backend.url == CONFIGURED


def test_env_broker_url_does_not_replace_the_configured_broker(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", ELSEWHERE)
    app = make_app(CELERY_BROKER_URL=CONFIGURED)
    celery = producer(app)
    for connection in (celery.connection_for_write(), celery.connection_for_read()):
        assert (connection.hostname, connection.port, connection.virtual_host) == (
            "127.0.0.1",
            6390,
            "3",
        )
    assert celery.backend.url == CONFIGURED  # the result backend defaults to the broker
