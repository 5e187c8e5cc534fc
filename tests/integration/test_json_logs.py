"""LOG_FORMAT=json in a real `celery worker` process: Celery's own lines and the email
outcome lines are JSON objects, and the outcome carries the event id and the request
id of the POST that wrote the email, as fields."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.broker import BrokerServer
from devstack.mailhog import MailHogServer
from devstack.process import wait_until
from devstack.worker import CeleryWorker
from tests.integration.support import MakeWeb, Outbox, logged_in_client, relay_pass

pytestmark = pytest.mark.integration


@pytest.fixture
def json_worker(
    tmp_path: Path, own_broker: BrokerServer, own_outbox: Outbox, mailhog_server: MailHogServer
) -> Iterator[CeleryWorker]:
    process = CeleryWorker(
        tmp_path,
        own_broker.url,
        mailhog_server.smtp_port,
        database_url=own_outbox.url,
        name="json-worker",
        extra_env={"LOG_FORMAT": "json"},
    )
    try:
        yield process.start()
    finally:
        process.stop()


def json_lines(worker: CeleryWorker) -> list[dict[str, Any]]:
    lines = worker.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_the_workers_lines_are_json_with_the_event_and_request_ids(
    make_web: MakeWeb,
    own_broker: BrokerServer,
    own_outbox: Outbox,
    json_worker: CeleryWorker,
    address: str,
) -> None:
    web = make_web(own_broker.url, own_outbox.url)
    client, user_id = logged_in_client(web, address)
    request_id = f"json-{uuid.uuid4().hex[:12]}"
    response = client.post(
        "/books/new",
        data={"title": "Rayuela", "author": "Julio Cortázar", "isbn": "", "year": "", "notes": ""},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 302
    [event] = own_outbox.owned_by(user_id)
    assert relay_pass(web).published == 1

    def sent_line() -> dict[str, Any] | None:
        return next((x for x in json_lines(json_worker) if x.get("outcome") == "sent"), None)

    assert wait_until(lambda: sent_line() is not None, 20), json_worker.log_path.read_text()[-3000:]
    line = sent_line()
    assert line is not None
    assert (line["event_id"], line["request_id"], line["attempt"]) == (event["id"], request_id, 1)
    assert line["level"] == "INFO" and line["logger"] == "bookshelf_worker.email"
    # Celery's own start-up lines went through the same formatter.
    assert any(x["logger"].startswith("celery") for x in json_lines(json_worker))
    text = [x for x in json_worker.log_path.read_text().splitlines() if " INFO/" in x]
    assert not text, f"text lines in a json log: {text[:3]}"
