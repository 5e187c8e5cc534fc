"""Notice: the emails that are not about a book. The same envelope as a BookEvent, and
details checked by the rules their kind declares; secrets never leave the payload."""

from __future__ import annotations

from typing import Any

import pytest

from bookshelf_tasks import BookEvent, Notice, PayloadError, email_from_dict
from bookshelf_tasks.names import NOTICE_NAME_BY_KIND, task_name_for
from bookshelf_tasks.notices import NOTICE_KINDS, Field, books, count, public_details
from shared.tests.support import VERIFY_LINK, MakeEvent, MakeNotice


def test_round_trip_keeps_every_field(make_notice: MakeNotice) -> None:
    notice = make_notice()
    assert Notice.from_dict(notice.to_dict()) == notice
    assert notice.task_name == "bookshelf.email.verify_address"


def test_every_notice_kind_has_a_task_name() -> None:
    assert set(NOTICE_KINDS) == set(NOTICE_NAME_BY_KIND)
    for kind in NOTICE_KINDS:
        assert task_name_for(kind) == f"bookshelf.email.{kind}"


def test_email_from_dict_reads_either_payload(
    make_event: MakeEvent, make_notice: MakeNotice
) -> None:
    assert isinstance(email_from_dict(make_event().to_dict()), BookEvent)
    assert isinstance(email_from_dict(make_notice().to_dict()), Notice)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "added"}, "kind"),  # a book kind is a BookEvent, not a notice
        ({"kind": "phish"}, "kind"),
        ({"user_email": "ana@example.com\r\nBcc: eve@example.com"}, "user_email"),
        ({"user_name": "Ana\nBcc: x"}, "user_name"),
        ({"locale": "fr"}, "locale"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"occurred_at": "2025-03-01T10:15:00"}, "occurred_at"),
        ({"details": {}}, "link"),
        ({"details": {"link": VERIFY_LINK, "extra": 1}}, "extra"),
        ({"details": {"link": "javascript:alert(1)"}}, "link"),
        ({"details": {"link": "https://x.test/a b"}}, "link"),
        ({"details": {"link": "https://x.test/\r\nBcc: eve"}}, "link"),
        ({"details": "https://x.test"}, "payload"),
    ],
)
def test_refuses_a_bad_envelope_or_detail(
    make_notice: MakeNotice, changes: dict[str, Any], field: str
) -> None:
    payload = {**make_notice().to_dict(), **changes}
    with pytest.raises(PayloadError) as caught:
        Notice.from_dict(payload)
    assert caught.value.field == field


def test_a_refused_link_is_not_quoted_in_the_error(make_notice: MakeNotice) -> None:
    secret = "https://x.test/verify/TOKEN-123 with space"
    with pytest.raises(PayloadError) as caught:
        Notice.from_dict({**make_notice().to_dict(), "details": {"link": secret}})
    assert "TOKEN-123" not in str(caught.value)


def test_public_details_leave_out_the_secret_link(make_notice: MakeNotice) -> None:
    notice = make_notice()
    assert notice.public_details == {}
    assert VERIFY_LINK not in repr(notice.public_details)
    assert public_details("no_such_kind", {"link": VERIFY_LINK}) == {}


def test_a_list_of_books_is_just_another_field() -> None:
    """What a digest or an import summary declares: each book checked like a BookEvent's."""
    rule: Field = books(max_items=2)
    good = [
        {"title": "Rayuela", "author": "Julio Cortázar", "isbn": None, "year": 1963},
        {"title": "Ficciones", "author": "", "isbn": "9780802130303", "year": None},
    ]
    rule.check("books", good)
    bad_cases: list[tuple[object, str]] = [
        (good * 2, "books"),
        ([{**good[0], "title": "X\r\nBcc: eve"}], "books[0].title"),
        ([{**good[0], "year": 100000}], "books[0].year"),
        ([{"title": "Y"}], "author"),
        ("Rayuela", "books"),
    ]
    for value, field in bad_cases:
        with pytest.raises(PayloadError) as caught:
            rule.check("books", value)
        assert caught.value.field == field, value
    with pytest.raises(PayloadError):
        count().check("n", -1)
    assert not rule.secret
