"""The counters behind every limit: Flask-Limiter's storage (the broker), used directly
for the limits that are not per route. A broker that does not answer never blocks a
user: the limit is skipped for that request and the failure logged."""

from __future__ import annotations

import logging

import redis
from flask import current_app
from limits import RateLimitItem, parse

from bookshelf.extensions import limiter

log = logging.getLogger(__name__)
# A broker that hangs costs a request at most this (connect, then each command).
BROKER_TIMEOUT_S = 0.5
STORAGE_OPTIONS = {"socket_connect_timeout": BROKER_TIMEOUT_S, "socket_timeout": BROKER_TIMEOUT_S}


def limit(setting: str) -> RateLimitItem:
    """The limit a setting holds, e.g. EMAIL_DAILY_LIMIT = "300 per day"."""
    return parse(current_app.config[setting])


def allowed(item: RateLimitItem, *keys: str) -> bool:
    """Whether one more hit fits; True when the broker does not answer."""
    try:
        return bool(limiter.limiter.test(item, *keys))
    except Exception as error:  # noqa: BLE001 - any storage failure: fail open
        log.warning("rate-limit storage unavailable, not limiting: %s", error)
        return True


def hit(item: RateLimitItem, *keys: str) -> None:
    try:
        limiter.limiter.hit(item, *keys)
    except Exception as error:  # noqa: BLE001
        log.warning("rate-limit storage unavailable, hit not counted: %s", error)


def seconds_until_allowed(item: RateLimitItem, *keys: str) -> int:
    """When the window lets one more through, in whole seconds (at least 1)."""
    import time

    try:
        stats = limiter.limiter.get_window_stats(item, *keys)
    except Exception:  # noqa: BLE001
        return 1
    return max(1, int(stats.reset_time - time.time()) + 1)


def clear(item: RateLimitItem, *keys: str) -> None:
    try:
        limiter.limiter.clear(item, *keys)
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
