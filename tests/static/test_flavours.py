"""The BROKER and MAIL_CATCHER settings as devstack reads them, and the catchers' `Created`
timestamps as the mailbox reads them (pure functions: no process started)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from devstack.flavours import broker_choice, catcher_choice, chosen, missing
from devstack.mailbox import unix_time
from devstack.process import StackError

pytestmark = pytest.mark.static


@pytest.mark.parametrize(("value", "expected"), [("", None), (" Valkey ", "valkey")])
def test_a_choice_is_trimmed_and_case_blind(value: str, expected: str | None) -> None:
    assert chosen({"BROKER": value}, "BROKER", ("keydb", "valkey", "redis")) == expected


@pytest.mark.parametrize(
    ("environ", "read"),
    [({"BROKER": "memcached"}, broker_choice), ({"MAIL_CATCHER": "papercut"}, catcher_choice)],
)
def test_an_unknown_choice_stops_with_the_allowed_ones(
    environ: dict[str, str], read: object
) -> None:
    with pytest.raises(StackError, match=r"must be one of \w+\|\w+"):
        read(environ)  # type: ignore[operator]


def test_mailhog_is_the_default_catcher() -> None:
    assert catcher_choice({}) == "mailhog"


def test_a_broker_without_its_server_says_why() -> None:
    absent = missing("keydb", "mailhog")
    if shutil.which("keydb-server"):
        assert absent is None
    else:
        assert absent is not None and absent.what == "keydb-server"
        assert "no Debian package" in absent.why


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-25T19:05:59.1234567Z", datetime(2026, 11, 25, 19, 5, 59, 123456, UTC)),
        ("2026-11-25T19:05:59.12+01:00", datetime(2026, 11, 25, 18, 5, 59, 120000, UTC)),
        ("2026-11-25T19:05:59.123Z", datetime(2026, 11, 25, 19, 5, 59, 123000, UTC)),
        ("2026-11-25T19:05:59Z", datetime(2026, 11, 25, 19, 5, 59, tzinfo=UTC)),
    ],
    ids=["mailhog-ns", "mailhog-trimmed-zone", "mailpit-ms", "whole-second"],
)
def test_created_stamps_of_both_catchers_read_as_unix_time(stamp: str, expected: datetime) -> None:
    assert unix_time(stamp) == expected.timestamp()
