"""Reads of a user's emails: only the owner's, a URL id that is not a UUID finds
nothing (never a database error), and a page is newest first."""

import pytest
from flask import Flask

from bookshelf.outbox import queries
from services.web.tests.outbox.support import add_events
from services.web.tests.support import Account, AuthActions


def test_an_email_is_found_by_its_owner_only(ctx: Flask, user: Account, auth: AuthActions) -> None:
    [event_id] = add_events(user.id)
    found = queries.owned_event(user.id, event_id)
    assert found is not None and found.id == event_id
    assert queries.owned_event(auth.create_user().id, event_id) is None


@pytest.mark.parametrize("raw", ["not-a-uuid", "\x00", "", "1" * 40])
def test_an_id_that_is_not_a_uuid_finds_nothing(ctx: Flask, user: Account, raw: str) -> None:
    assert queries.owned_event(user.id, raw) is None


def test_a_page_is_newest_first(ctx: Flask, user: Account) -> None:
    ids = add_events(user.id, 3)
    page = queries.event_page(user.id, page=1, per_page=2)
    assert [event.id for event in page.items] == [ids[2], ids[1]]
    assert page.total == 3
