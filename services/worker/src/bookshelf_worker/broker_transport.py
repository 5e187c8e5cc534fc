"""kombu's Redis transport, with one fix for a broker restart under load.

kombu 5.7.0 (the latest release; no later one fixes it) can crash the worker when the
broker goes away while emails are in flight: "Unrecoverable error: AttributeError(
"'NoneType' object has no attribute 'hostname'")", and the worker exits 1. On a
connection loss Celery's consumer calls `Connection.collect()`, then
`Connection.close()`:
1. collect() closes the default channel, the one with the unacknowledged emails. If
   it was waiting in BRPOP, draining that reply raises on the dead socket, before
   the channel counts as closed; kombu ignores the error.
2. collect() then closes the transport's other channels. The first that raises (the
   remote-control channel deletes its fanout queue: connection refused) ends that
   loop; ignored too. collect() ends with `_do_close_transport()`, which sets
   `transport.client = None`.
3. close() closes the default channel again. This time it gets as far as
   `QoS.restore_unacked()`, which builds a pool from `Channel._connparams()`, which
   reads `self.connection.client`: None. An AttributeError is no connection error,
   so it escapes Celery's reconnect loop.
(A late ack on a closed channel goes the same way.) Seen in the first broker restart
of every run of tests/integration/test_broker_restarts.py without this module; the
same symptom was reported against kombu 3.0 (celery/kombu#582).

Here each channel remembers the connection parameters it was opened with and uses
them when its transport has let go of its client. Restoring then does what it is
for: if the broker is back, with its data, the unacknowledged emails return to the
queue at once instead of after the hour-long visibility timeout; if it is still
down, the restore fails with a connection error, which kombu and Celery expect. The
emails stay in kombu's `unacked` hash either way.

Selected for the worker only, by Celery's `broker_transport` setting
(app.worker_celery_settings); the URL scheme stays `redis://`. Drop this module once
services/worker/tests/test_broker_transport.py says kombu fixed the bug.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis

# Celery's `broker_transport` setting: kombu imports a 'module:Class' path as given
# and uses it instead of the transport that the URL scheme names.
TRANSPORT = f"{__name__}:Transport"


class Channel(redis.Channel):
    _remembered_connparams: dict[bool, dict[str, Any]] | None = None

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection  # None once the transport let go of the channel
        if transport is not None and transport.client is not None:
            if self._remembered_connparams is None:
                # Both kinds, while they can be built (the first call is the ping
                # in Channel.__init__): a restore needs the synchronous one.
                self._remembered_connparams = {
                    False: super()._connparams(asynchronous=False),
                    True: super()._connparams(asynchronous=True),
                }
            params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
            return params
        if self._remembered_connparams is None:  # never opened: kombu's own error
            return super()._connparams(asynchronous=asynchronous)
        return dict(self._remembered_connparams[asynchronous])

    def close(self) -> None:
        try:
            super().close()
        finally:
            # Restoring may have opened a pool after close() released the channel's
            # pools; release it too rather than leave a socket per reconnect.
            self._disconnect_pools()


class Transport(redis.Transport):
    Channel = Channel
