"""producer.py: the web's publish-only Celery app, built in create_app.

Celery's `conf.broker_url` reads CELERY_BROKER_URL from os.environ before the app's
conf (celery/app/utils.py); the producer is pinned to the app's setting. Delivery
state is the outbox row's: publishing never touches a result backend (test_dispatch).
"""

from __future__ import annotations

import pytest

from bookshelf.outbox.producer import ping_broker, producer
from devstack.broker import BrokerServer
from services.web.tests.support import MakeApp

CONFIGURED = "redis://127.0.0.1:6390/3"
ELSEWHERE = "redis://elsewhere.invalid:6379/9"


def test_env_broker_url_does_not_replace_the_configured_broker(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", ELSEWHERE)
    app = make_app(CELERY_BROKER_URL=CONFIGURED)
    with app.app_context():
        celery = producer()
    for connection in (celery.connection_for_write(), celery.connection_for_read()):
        assert (connection.hostname, connection.port, connection.virtual_host) == (
            "127.0.0.1",
            6390,
            "3",
        )


def test_each_app_has_its_own_producer(make_app: MakeApp) -> None:
    first, second = make_app(CELERY_BROKER_URL=CONFIGURED), make_app(CELERY_BROKER_URL=ELSEWHERE)
    with first.app_context():
        assert producer().conf.broker_url == CONFIGURED
    with second.app_context():
        assert producer().conf.broker_url == ELSEWHERE


def test_ping_broker_answers_for_a_live_broker_and_raises_for_none(
    make_app: MakeApp, broker: BrokerServer
) -> None:
    with make_app(CELERY_BROKER_URL=broker.url).app_context():
        ping_broker()
    with make_app().app_context(), pytest.raises(Exception):  # noqa: B017
        ping_broker()  # nothing listens at conftest's broker address
