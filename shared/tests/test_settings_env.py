"""One parser for the booleans and numbers of both services' environments: strict."""

from __future__ import annotations

import pytest

from bookshelf_tasks.settings_env import ConfigError, flag, number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), (" Yes ", True), ("ON", True)],
        *[("0", False), ("false", False), ("no", False), ("off", False), ("", False)],
    ],
)
def test_flag_spellings(raw: str, expected: bool) -> None:
    assert flag({"X": raw}, "X") is expected


def test_an_unset_flag_is_false() -> None:
    assert flag({}, "X") is False


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_an_unknown_flag_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="X must be true or false"):
        flag({"X": raw}, "X")


def test_number_parses_with_its_kind_or_gives_the_default() -> None:
    assert number({"N": " 42 "}, "N", 7, int) == 42
    assert number({"N": "2.5"}, "N", 1.0, float) == 2.5
    assert number({}, "N", 7, int) == 7
    assert number({"N": ""}, "N", 7, int) == 7


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        ("1MB", int, "N must be an integer"),
        ("soon", float, "N must be a number"),
        ("0", int, "N must be positive"),
        ("-1.5", float, "N must be positive"),
    ],
)
def test_a_bad_number_names_the_variable(raw: str, kind: type, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        number({"N": raw}, "N", kind(1), kind)


def test_zero_is_allowed_when_it_need_not_be_positive() -> None:
    assert number({"N": "0"}, "N", 10, int, positive=False) == 0
