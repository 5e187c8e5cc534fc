"""Booleans and numbers from the environment, parsed the same way by web and worker.

Strict: a value that is neither empty nor one of the spellings below stops start-up
with a `ConfigError` that names the variable; it never silently becomes a default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})

N = TypeVar("N", int, float)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def flag(env: Mapping[str, str], name: str) -> bool:
    """`name` as a boolean: unset or empty is False; anything unrecognised raises."""
    value = env.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def number(
    env: Mapping[str, str],
    name: str,
    default: N,
    kind: Callable[[str], N],
    *,
    positive: bool = True,
) -> N:
    """`name` parsed with `kind` (int or float), `default` when unset or empty.
    `positive` refuses zero and below."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None
    if positive and value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value
