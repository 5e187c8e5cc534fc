from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bookshelf_tasks import BookEvent, PayloadError


def valid_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_id": "0b7f4d8e-2f7a-4d8b-9c47-3a4f1f0e6a11",
        "kind": "added",
        "occurred_at": "2025-03-01T10:15:00+00:00",
        "user_email": "ana@example.com",
        "user_name": "Ana Núñez",
        "locale": "es",
        "book_id": 42,
        "title": "Cien años de soledad",
        "author": "Gabriel García Márquez",
        "isbn": "9780307474728",
        "year": 1967,
        "timezone": "Europe/Madrid",
    }
    payload.update(changes)
    return payload


def test_round_trip_keeps_every_field() -> None:
    payload = valid_payload()
    event = BookEvent.from_dict(payload)
    assert event.to_dict() == payload
    assert event.occurred_at_utc == datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"isbn": None, "year": None},
        {"author": ""},
        {"occurred_at": "2025-03-01T10:15:00Z"},
        {"kind": "deleted", "locale": "en"},
        {"kind": "edited"},
    ],
)
def test_accepts_optional_and_alternative_values(changes: dict[str, Any]) -> None:
    assert BookEvent.from_dict(valid_payload(**changes)).to_dict() == valid_payload(**changes)


def test_a_row_written_before_the_time_zone_reads_as_utc() -> None:
    older = valid_payload()
    del older["timezone"]
    assert BookEvent.from_dict(older).timezone == "UTC"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/Madrid\n", 5])
def test_rejects_an_unknown_time_zone(zone: object) -> None:
    with pytest.raises(PayloadError) as caught:
        BookEvent.from_dict(valid_payload(timezone=zone))
    assert caught.value.field == "timezone"


@pytest.mark.parametrize("email", ["josé@example.com", "ñandú@example.es", "用户@例子.广告"])
def test_rejects_a_non_ascii_local_part(email: str) -> None:
    with pytest.raises(PayloadError, match="before @ must be ASCII") as caught:
        BookEvent.from_dict(valid_payload(user_email=email))
    assert caught.value.field == "user_email"


def test_accepts_an_internationalized_domain() -> None:
    assert (
        BookEvent.from_dict(valid_payload(user_email="ana@ñandú.es")).user_email == "ana@ñandú.es"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"event_id": 7}, "event_id"),
        ({"kind": "updated"}, "kind"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2025-03-01T10:15:00"}, "occurred_at"),  # naive
        ({"occurred_at": "2025-03-01T10:15:00+02:00"}, "occurred_at"),  # not UTC
        ({"user_email": "ana.example.com"}, "user_email"),
        ({"user_email": "ana@example.com\r\nBcc: eve@example.com"}, "user_email"),
        ({"user_name": "Ana\nBcc: eve@example.com"}, "user_name"),
        ({"user_name": ""}, "user_name"),
        ({"locale": "fr"}, "locale"),
        ({"locale": None}, "locale"),
        ({"book_id": "42"}, "book_id"),
        ({"book_id": True}, "book_id"),
        ({"book_id": 0}, "book_id"),
        ({"title": ""}, "title"),
        ({"title": "Dune\r\nX-Injected: yes"}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": None}, "title"),
        ({"author": 3}, "author"),
        ({"isbn": 9780307474728}, "isbn"),
        ({"isbn": "978\n0307"}, "isbn"),
        ({"year": "1967"}, "year"),
        ({"year": 1967.0}, "year"),
        ({"year": 10**6}, "year"),
    ],
)
def test_rejects_bad_values(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        BookEvent.from_dict(valid_payload(**changes))
    assert caught.value.field == field


def test_rejects_unknown_field() -> None:
    with pytest.raises(PayloadError, match="unknown field") as caught:
        BookEvent.from_dict(valid_payload(password="hunter2"))
    assert caught.value.field == "password"


@pytest.mark.parametrize("field", sorted(set(valid_payload()) - {"timezone"}))
def test_rejects_each_missing_field(field: str) -> None:
    payload = valid_payload()
    del payload[field]
    with pytest.raises(PayloadError, match="missing field") as caught:
        BookEvent.from_dict(payload)
    assert caught.value.field == field


@pytest.mark.parametrize("payload", [None, [], "event", 42])
def test_rejects_a_payload_that_is_not_an_object(payload: Any) -> None:
    with pytest.raises(PayloadError):
        BookEvent.from_dict(payload)


def test_validated_when_built_directly_too() -> None:
    with pytest.raises(PayloadError):
        BookEvent(**valid_payload(locale="de"))
