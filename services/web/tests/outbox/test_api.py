"""/api/v1/emails: the confirmation emails' status as JSON (paginated, newest first,
owner only) and their resend (202 queued, 409 sent or on its way, 503 broker down),
every response checked against openapi.yaml's schemas."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bookshelf_tasks.delivery import EmailStatus
from devstack.broker import BrokerServer
from services.web.tests.outbox.support import (
    EmailQueue,
    add_events,
    corrupt_payload,
    put_in_state,
    row,
)
from services.web.tests.support import OPENAPI, AuthActions, MakeApp, spec_validator

RESENT_MESSAGE_EN = "That email is already on its way or was sent."


@dataclass
class Caller:
    """An API client with a user's token (no session)."""

    app: Flask
    client: FlaskClient
    user_id: int
    token: str

    def get(self, path: str) -> TestResponse:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str) -> TestResponse:
        return self.client.post(f"/api/v1{path}", headers=self.headers)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}

    def events(self, *states: EmailStatus) -> list[str]:
        """One event per state, written and then set as the outbox would leave it."""
        with self.app.app_context():
            ids = add_events(self.user_id, len(states))
            for event_id, state in zip(ids, states, strict=True):
                put_in_state(
                    event_id,
                    state,
                    due_in=30 if state.in_flight else None,
                    attempts=0 if state is EmailStatus.PENDING else 2,
                    data_sent=state in {EmailStatus.SENT, EmailStatus.UNCERTAIN},
                    last_error="421 try later" if state is not EmailStatus.SENT else None,
                )
        return ids

    def stored(self, event_id: str) -> tuple[str, int]:
        with self.app.app_context():
            found = row(event_id)
        return found.status, found.attempts - found.retry_budget_start  # since the last resend


def caller_for(app: Flask, password_hash: str) -> Caller:
    auth = AuthActions(app, app.test_client(), password_hash)
    account = auth.create_user(locale="en")
    return Caller(app, app.test_client(), account.id, auth.api_token(account))


@pytest.fixture
def caller(app: Flask, password_hash: str) -> Caller:
    return caller_for(app, password_hash)


def assert_error(response: TestResponse, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    spec_validator("Error").validate(response.get_json())
    if message is not None:
        assert response.get_json()["error"] == message


def test_the_list_is_paginated_newest_first(caller: Caller, password_hash: str) -> None:
    oldest, middle, newest = caller.events(
        EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.UNCERTAIN
    )
    first = caller.get("/emails?per_page=2")
    assert first.status_code == 200
    body = first.get_json()
    spec_validator("EmailEventPage").validate(body)
    assert [item["id"] for item in body["items"]] == [newest, middle]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 2, 3, 2)
    second = caller.get("/emails?page=2&per_page=2").get_json()
    assert [item["id"] for item in second["items"]] == [oldest]
    assert caller.get("/emails?page=3&per_page=2").get_json()["items"] == []
    stranger = caller_for(caller.app, password_hash)
    assert stranger.get("/emails").get_json()["total"] == 0


def test_the_default_page_size_is_the_status_pages(caller: Caller) -> None:
    body = caller.get("/emails").get_json()
    assert (body["page"], body["per_page"]) == (1, 25)


@pytest.mark.parametrize("query", ["page=0", "per_page=101", "per_page=x"])
def test_bad_pagination_is_422(caller: Caller, query: str) -> None:
    response = caller.get(f"/emails?{query}")
    assert_error(response, 422)
    assert set(response.get_json()["fields"]) == {query.split("=")[0]}


@pytest.mark.parametrize("state", list(EmailStatus))
def test_one_email_in_each_state_matches_the_schema(caller: Caller, state: EmailStatus) -> None:
    [event_id] = caller.events(state)
    response = caller.get(f"/emails/{event_id}")
    assert response.status_code == 200
    body = response.get_json()
    spec_validator("EmailEvent").validate(body)
    assert (body["id"], body["status"], body["kind"]) == (event_id, state.value, "added")
    assert body["book"]["title"] == "Rayuela"
    assert (body["details"], body["hold_reason"]) == (None, None)
    assert (body["delivered_at"] is not None) == (state is EmailStatus.SENT)


def test_the_documented_statuses_are_the_state_machines() -> None:
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    documented = spec["components"]["schemas"]["EmailStatus"]["enum"]
    assert documented == [status.value for status in EmailStatus]


def test_another_users_email_or_a_malformed_id_is_404(
    caller: Caller, password_hash: str, queue: EmailQueue
) -> None:
    [event_id] = caller.events(EmailStatus.FAILED)
    stranger = caller_for(caller.app, password_hash)
    assert_error(stranger.get(f"/emails/{event_id}"), 404, "No such email.")
    assert_error(stranger.post(f"/emails/{event_id}/resend"), 404)
    assert caller.stored(event_id) == ("failed", 2) and queue.length() == 0
    for malformed in ("not-a-uuid", "%00", event_id + "0000"):
        assert_error(caller.get(f"/emails/{malformed}"), 404)
        assert_error(caller.post(f"/emails/{malformed}/resend"), 404)


@pytest.mark.parametrize("state", [EmailStatus.FAILED, EmailStatus.UNCERTAIN])
def test_resend_queues_a_failed_or_uncertain_email_again(
    caller: Caller, queue: EmailQueue, state: EmailStatus
) -> None:
    [event_id] = caller.events(state)
    response = caller.post(f"/emails/{event_id}/resend")
    assert response.status_code == 202
    assert response.headers["Location"] == f"/api/v1/emails/{event_id}"
    body = response.get_json()
    spec_validator("EmailEvent").validate(body)
    assert (body["status"], body["attempts"], body["reason"]) == ("queued", 0, None)
    assert caller.stored(event_id) == ("queued", 0)
    assert queue.event_ids() == [event_id]


@pytest.mark.parametrize(
    "state", [EmailStatus.SENT, EmailStatus.QUEUED, EmailStatus.SENDING, EmailStatus.RETRYING]
)
def test_resend_of_an_email_sent_or_on_its_way_is_409(
    caller: Caller, queue: EmailQueue, state: EmailStatus
) -> None:
    [event_id] = caller.events(state)
    assert_error(caller.post(f"/emails/{event_id}/resend"), 409, RESENT_MESSAGE_EN)
    assert caller.stored(event_id) == (state.value, 2)
    assert queue.length() == 0


def test_resend_twice_queues_it_once(caller: Caller, queue: EmailQueue) -> None:
    [event_id] = caller.events(EmailStatus.FAILED)
    assert caller.post(f"/emails/{event_id}/resend").status_code == 202
    assert_error(caller.post(f"/emails/{event_id}/resend"), 409)
    assert queue.length() == 1


def test_resend_with_the_broker_down_is_503_and_leaves_it_pending(
    make_app: MakeApp, password_hash: str
) -> None:
    down = caller_for(make_app(), password_hash)  # conftest's unreachable broker
    [event_id] = down.events(EmailStatus.FAILED)
    response = down.post(f"/emails/{event_id}/resend")
    assert_error(response, 503)
    assert "retried automatically" in response.get_json()["error"]
    assert down.stored(event_id) == ("pending", 0)


def test_resend_of_an_email_that_cannot_be_built_is_500_and_failed(
    caller: Caller, queue: EmailQueue
) -> None:
    [event_id] = caller.events(EmailStatus.FAILED)
    with caller.app.app_context():
        corrupt_payload(event_id)
    response = caller.post(f"/emails/{event_id}/resend")
    assert_error(response, 500, "The confirmation email cannot be sent.")
    assert caller.stored(event_id)[0] == "failed"
    assert queue.length() == 0


def test_the_messages_follow_accept_language(caller: Caller) -> None:
    [event_id] = caller.events(EmailStatus.SENT)
    response = caller.client.post(
        f"/api/v1/emails/{event_id}/resend",
        headers={"Authorization": f"Bearer {caller.token}", "Accept-Language": "es"},
    )
    assert_error(response, 409, "Ese correo ya está en camino o ya se envió.")


def test_a_session_resend_needs_the_csrf_token(
    make_app: MakeApp, broker: BrokerServer, password_hash: str
) -> None:
    app = make_app(CELERY_BROKER_URL=broker.url, WTF_CSRF_ENABLED=True)
    browser = app.test_client()
    account = AuthActions(app, browser, password_hash).new_user()
    caller = Caller(app, browser, account.id, token="")
    [event_id] = caller.events(EmailStatus.FAILED)
    assert_error(browser.post(f"/api/v1/emails/{event_id}/resend"), 403)
    assert caller.stored(event_id) == ("failed", 2)
    assert browser.get("/api/v1/emails").status_code == 200  # reading needs none
