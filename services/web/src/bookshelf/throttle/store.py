"""The counters behind the limits that are not per route (Flask-Limiter counts those):
the same `limits` library and storage (RATELIMIT_STORAGE_URI, the broker), one client per
app. A broker that does not answer never blocks a user: the limit is skipped for that
request and the failure logged."""

from __future__ import annotations

import logging

import redis
from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)
# A broker that hangs costs a request at most this (connect, then each command).
BROKER_TIMEOUT_S = 0.5
STORAGE_OPTIONS = {"socket_connect_timeout": BROKER_TIMEOUT_S, "socket_timeout": BROKER_TIMEOUT_S}


def limit(setting: str) -> RateLimitItem:
    """The limit a setting holds, e.g. EMAIL_DAILY_LIMIT = "300 per day"."""
    return parse(current_app.config[setting])


def _counters() -> MovingWindowRateLimiter:
    found: MovingWindowRateLimiter | None = current_app.extensions.get("throttle-counters")
    if found is None:
        uri = current_app.config["RATELIMIT_STORAGE_URI"]
        options = STORAGE_OPTIONS if uri.startswith(("redis", "unix")) else {}
        storage = storage_from_string(
            uri, key_prefix=current_app.config["RATELIMIT_KEY_PREFIX"], **options
        )
        found = current_app.extensions["throttle-counters"] = MovingWindowRateLimiter(storage)
    return found


def allowed(item: RateLimitItem, *keys: str) -> bool:
    """Whether one more hit fits; True when the broker does not answer."""
    try:
        return bool(_counters().test(item, *keys))
    except Exception as error:  # noqa: BLE001 - any storage failure: fail open
        log.warning("rate-limit storage unavailable, not limiting: %s", error)
        return True


def hit(item: RateLimitItem, *keys: str) -> None:
    try:
        _counters().hit(item, *keys)
    except Exception as error:  # noqa: BLE001
        log.warning("rate-limit storage unavailable, hit not counted: %s", error)


def seconds_until_allowed(item: RateLimitItem, *keys: str) -> int:
    """When the window lets one more through, in whole seconds (at least 1)."""
    import time

    try:
        stats = _counters().get_window_stats(item, *keys)
    except Exception:  # noqa: BLE001
        return 1
    return max(1, int(stats.reset_time - time.time()) + 1)


def clear(item: RateLimitItem, *keys: str) -> None:
    try:
        _counters().clear(item, *keys)
    except Exception as error:  # noqa: BLE001
        log.warning("rate-limit storage unavailable, not cleared: %s", error)


def broker() -> redis.Redis | None:
    """A client of the limits' storage, for the scripts Flask-Limiter has no strategy
    for (email_pace); None when the storage is not Redis (memory:// in some tests)."""
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if not uri.startswith(("redis://", "rediss://", "unix://")):
        return None
    clients: dict[str, redis.Redis] = current_app.extensions.setdefault("throttle", {})
    if uri not in clients:
        clients[uri] = redis.Redis.from_url(uri, **STORAGE_OPTIONS)
    return clients[uri]
