"""Reading the request id back from a task's request, as the worker does."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from celery.app.task import Context

from bookshelf_tasks.correlation import is_request_id, request_id_from, request_id_headers
from bookshelf_tasks.names import REQUEST_ID_HEADER


def test_a_real_workers_request_exposes_the_header_as_an_attribute() -> None:
    # A worker builds the context from the message headers (protocol 2).
    request = Context({"id": "t1", "task": "x", REQUEST_ID_HEADER: "abc12345-worker"})
    assert request_id_from(request) == "abc12345-worker"


def test_an_eager_run_reads_the_header_back() -> None:
    # A name of its own: the worker's shared tasks join every app that is finalized.
    app = Celery("consumer-under-test", set_as_current=False)

    @app.task(bind=True, name="tests.correlation.seen")
    def seen(self: Any) -> str | None:
        return request_id_from(self.request)

    assert seen.apply(headers=request_id_headers("abc12345-eager")).get() == "abc12345-eager"
    assert seen.apply().get() is None


def test_an_eager_request_has_it_only_in_headers() -> None:
    request = Context({"id": "t1", "headers": {REQUEST_ID_HEADER: "abc12345-eager"}})
    assert request.get(REQUEST_ID_HEADER) is None
    assert request_id_from(request) == "abc12345-eager"


@pytest.mark.parametrize("value", [None, "", "bad id with spaces", "x" * 65, 12345678])
def test_a_missing_or_malformed_header_reads_as_none(value: object) -> None:
    assert request_id_from(Context({"id": "t1", REQUEST_ID_HEADER: value})) is None


def test_nginx_and_uuid_ids_are_valid() -> None:
    assert is_request_id("5f0c9a3e1b2d4c6e8f0a1b2c3d4e5f60")  # nginx's $request_id
    assert is_request_id("abc12345-valid")
    assert request_id_headers(None) == {}
