"""Which email tasks the broker still holds: waiting on the queue, or taken by a
worker and not yet acknowledged.

The stale-queued pass needs this because Celery reports PENDING both for a message
the broker lost and for one still waiting in a long queue (no worker running). Only
the first may be sent again; re-sending the second adds one more copy at every pass.

kombu's Redis transport (kombu/transport/redis.py) keeps a queue's messages in the
list named after it, plus one list per priority step (`queue + sep + step`, for
steps other than 0), and a message a worker has reserved in the hash `unacked`
(field: delivery tag, value: JSON `[message, exchange, routing_key]`). Each message
is JSON whose headers.id is the task id. The names come from the channel, so the
transport's options (unacked_key, priority_steps, global_keyprefix) are honoured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bookshelf.celery_app import producer
from bookshelf_tasks import EMAIL_QUEUE
from bookshelf_tasks.celery_config import BROKER_CONNECT_TIMEOUT

# Read a long queue in slices, so that only the ids are ever held in memory.
_SLICE = 500


def task_ids_on_broker(queue: str = EMAIL_QUEUE) -> set[str]:
    """The task ids of every message on `queue` or unacknowledged.

    Bounded by the shared broker socket timeouts; raises (redis, kombu or socket
    errors) when the broker cannot be read.
    """
    with producer().connection_for_read() as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT
        )
        channel: Any = connection.default_channel
        client = channel.client
        ids: set[str] = set()
        # Lists first, then unacked: a message a worker takes meanwhile moves from
        # the tail of a list into unacked, so it is seen in one or the other.
        for name in _priority_queues(queue, channel.priority_steps, channel.sep):
            start = 0
            while raw := client.lrange(name, start, start + _SLICE - 1):
                ids.update(_task_ids(raw))
                start += _SLICE
        ids.update(_task_ids(_unacked_messages(client.hvals(channel.unacked_key))))
        return ids


def _priority_queues(queue: str, steps: Iterable[int], sep: str) -> list[str]:
    return [f"{queue}{sep}{step}" if step else queue for step in steps]


def _unacked_messages(values: Iterable[bytes | str]) -> list[Any]:
    messages = []
    for value in values:
        try:
            message, _exchange, _routing_key = json.loads(value)
        except (ValueError, TypeError):
            continue  # not written by kombu: nothing to recognise
        messages.append(message)
    return messages


def _task_ids(messages: Iterable[Any]) -> set[str]:
    ids = set()
    for message in messages:
        try:
            if isinstance(message, bytes | str):
                message = json.loads(message)
            task_id = message["headers"]["id"]
        except (ValueError, TypeError, KeyError):
            continue
        if isinstance(task_id, str):
            ids.add(task_id)
    return ids
