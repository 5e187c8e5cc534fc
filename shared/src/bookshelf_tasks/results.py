"""A Redis result backend for processes that publish tasks but never wait on them.

Celery's RedisBackend subscribes to a pub/sub channel for every task it sends
(`on_task_call`), so that `.get()` can be woken up. The web app never calls `.get()`:
it reads a task's state with a plain GET when the status page asks. The subscription
would only cost a round trip per request, grow the subscription set forever, and,
with the broker down, fail with "Retry limit exceeded ... must be restarted"
instead of the ordinary connection error the caller handles.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from celery.backends.redis import RedisBackend

REDIS_SCHEMES = ("redis", "rediss")


class StateOnlyRedisBackend(RedisBackend):
    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Do not subscribe: results are read by polling state, never waited on."""


def producer_result_backend(url: str) -> str:
    """`url` routed through StateOnlyRedisBackend when it is a Redis URL.

    Uses Celery's `module:Class+scheme://...` form of result_backend
    (celery.app.backends.by_url).
    """
    if urlsplit(url).scheme in REDIS_SCHEMES:
        return f"{__name__}:{StateOnlyRedisBackend.__name__}+{url}"
    return url
