"""How fast one account's book emails go out (docs/architecture.md, "Limits"): the first
EMAIL_BURST at once, then EMAIL_PER_HOUR; an email beyond that pace is not refused but
deferred (its outbox row waits, due later); a change whose email would wait longer than
EMAIL_MAX_DELAY_SECONDS, or one past EMAIL_DAILY_LIMIT, is refused with a 429.

The pace is GCRA (a token bucket kept as one timestamp per account), atomic in one Lua
script on the broker: every gunicorn worker and replica books the same slots.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from flask import current_app

from bookshelf.throttle import store

log = logging.getLogger(__name__)

# KEYS[1]: the account's "theoretical arrival time" of its next email (epoch seconds).
# ARGV: interval between emails, burst tolerance, longest deferral (all seconds).
# Returns {1, delay} with the slot taken, or {0, seconds until a slot fits}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, tolerance, max_delay = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local delay = math.max(0, tat - tolerance - now)
if delay > max_delay then
  return {0, tostring(delay - max_delay)}
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 1000)
return {1, tostring(delay)}
"""
KEY = "bookshelf:email-pace:{}"


class EmailRateLimited(Exception):
    """Too many emails for this account: refuse the change; try again in `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"email limit reached, retry after {retry_after} s")
        self.retry_after = retry_after


def _paced_delay(user_id: int, max_delay: float) -> float:
    """Seconds this account's next email must wait; EmailRateLimited past `max_delay`."""
    client = store.broker()
    if client is None:
        return 0.0
    config = current_app.config
    interval = 3600 / config["EMAIL_PER_HOUR"]
    tolerance = (config["EMAIL_BURST"] - 1) * interval
    try:
        script: Any = client.register_script(_GCRA)
        taken, seconds = script(keys=[KEY.format(user_id)], args=[interval, tolerance, max_delay])
    except Exception as error:  # noqa: BLE001 - the broker is down: never block a change
        log.warning("email pace unavailable, not pacing: %s", error)
        return 0.0
    if not int(taken):
        raise EmailRateLimited(max(1, math.ceil(float(seconds))))
    return float(seconds)


def reserve(user_id: int, *, may_defer: bool = True) -> timedelta:
    """Book a slot for one email of `user_id`: how long it must wait (zero: send now).

    `may_defer` False (a user's "send again"): now or refused, never later.
    """
    daily = store.limit("EMAIL_DAILY_LIMIT")
    if not store.allowed(daily, "email", str(user_id)):
        raise EmailRateLimited(store.seconds_until_allowed(daily, "email", str(user_id)))
    max_delay = current_app.config["EMAIL_MAX_DELAY_SECONDS"] if may_defer else 0
    delay = _paced_delay(user_id, max_delay)
    store.hit(daily, "email", str(user_id))
    return timedelta(seconds=delay)
