"""The Celery settings the web app (producer) and the worker (consumer) share.

Each setting says why it is set and where the Celery docs explain it
("Configuration and defaults", https://docs.celeryq.dev/en/stable/userguide/configuration.html,
abbreviated "Config > <section>" below).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from bookshelf_tasks.names import EMAIL_QUEUE

if TYPE_CHECKING:
    from celery import Celery

# --- Retry budget of the email tasks. It lives here, not in the worker, because the
# broker's visibility_timeout below must outlast the longest retry countdown.
EMAIL_MAX_RETRIES: Final = 5
EMAIL_RETRY_BACKOFF_BASE: Final = 2.0  # seconds; doubled per attempt, with jitter
EMAIL_RETRY_BACKOFF_MAX: Final = 300.0  # seconds; no countdown is ever longer

# --- Time limits of one task run. An SMTP send is a few round trips bounded by
# MAIL_TIMEOUT each (10 s by default); these catch a server that trickles bytes.
TASK_SOFT_TIME_LIMIT: Final = 30
TASK_HARD_TIME_LIMIT: Final = 45

# Redis redelivers a message that stays unacknowledged longer than this. With
# acks_late, a message is acknowledged only after its run, and a retry with a
# countdown is an ETA message the worker holds unacknowledged until it is due. So
# this must exceed the longest countdown plus the hard time limit, or Redis hands
# the same email to a second worker (Celery docs, "Backends and Brokers > Redis >
# Caveats > Visibility timeout").
VISIBILITY_TIMEOUT: Final = 3600
assert VISIBILITY_TIMEOUT > EMAIL_RETRY_BACKOFF_MAX + TASK_HARD_TIME_LIMIT

# Publishing happens inside a web request, so it must fail fast when the broker is
# down: a refused connection fails in milliseconds, a black-holed one after
# BROKER_CONNECT_TIMEOUT, and a connected but silent broker after BROKER_SOCKET_TIMEOUT,
# each at most 1 + PUBLISH_MAX_RETRIES times.
BROKER_CONNECT_TIMEOUT: Final = 0.5
BROKER_SOCKET_TIMEOUT: Final = 0.5
PUBLISH_MAX_RETRIES: Final = 1

RESULT_EXPIRES: Final = 7 * 24 * 3600  # the web's status page reads states for a week


class MissingSettingError(RuntimeError):
    """A required environment variable is not set."""


def celery_settings(broker_url: str, result_backend: str | None = None) -> dict[str, Any]:
    """Settings for `Celery.conf.update()`; the same dict on both sides of the broker."""
    if not broker_url:
        raise MissingSettingError("CELERY_BROKER_URL is required, e.g. redis://localhost:6379/0")
    return {
        # Config > Broker Settings > broker_url. KeyDB speaks the Redis protocol.
        "broker_url": broker_url,
        # Config > Task result backend settings > result_backend. The web's status
        # page reads task states from here; default to the broker's Redis.
        "result_backend": result_backend or broker_url,
        # Config > Task settings > task_serializer / accept_content. JSON only: no
        # pickle means a message on the broker can never execute code in the worker,
        # and a payload is plain data that the worker validates again.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Config > Time and date settings. One clock for occurred_at and ETAs.
        "enable_utc": True,
        "timezone": "UTC",
        # Config > Message Routing > task_routes. Even a task sent without an
        # explicit queue lands on `email`, which is the only queue the worker reads.
        "task_routes": {"bookshelf.email.*": {"queue": EMAIL_QUEUE}},
        "task_default_queue": EMAIL_QUEUE,
        # Config > Task settings > task_acks_late + task_reject_on_worker_lost.
        # Acknowledge after the run, and requeue if the worker process dies
        # mid-send (OOM, SIGKILL): an email is better sent twice (the stable
        # Message-ID lets clients recognise it) than lost. Tasks are idempotent
        # enough for that; see the Celery FAQ "Should I use retry or acks_late?".
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Config > Worker > worker_cancel_long_running_tasks_on_connection_loss.
        # With acks_late, a task still running when the broker connection drops is
        # redelivered anyway; cancelling it avoids two concurrent sends.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Config > Worker > worker_prefetch_multiplier. Sends are slow and uneven (a
        # hung SMTP server takes MAIL_TIMEOUT); reserving one message per process
        # keeps the others free to take the next email ("Optimizing > Prefetch
        # Limits").
        "worker_prefetch_multiplier": 1,
        # Config > Task execution settings > task_soft_time_limit / task_time_limit.
        # The soft limit raises SoftTimeLimitExceeded in the task (treated as a
        # transient failure); the hard one kills the process after that.
        "task_soft_time_limit": TASK_SOFT_TIME_LIMIT,
        "task_time_limit": TASK_HARD_TIME_LIMIT,
        # Config > Broker Settings > broker_transport_options ("Backends and Brokers
        # > Redis"): visibility_timeout (see above) and socket timeouts, so that no
        # broker call can block a web request or a worker indefinitely.
        "broker_transport_options": {
            "visibility_timeout": VISIBILITY_TIMEOUT,
            "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
            "socket_timeout": BROKER_SOCKET_TIMEOUT,
        },
        # Config > Broker Settings > broker_connection_retry_on_startup. The worker
        # may start before KeyDB answers (compose, reboots): keep retrying rather
        # than exit. Explicit because Celery 6 changes the default.
        "broker_connection_retry_on_startup": True,
        # Config > Task settings > task_publish_retry / task_publish_retry_policy
        # ("Calling Tasks > Message Sending Retry"). The default policy retries 3
        # times for up to ~1 s each; a web request cannot wait that long, and the
        # outbox row keeps the event for a later retry anyway.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": PUBLISH_MAX_RETRIES,
            "interval_start": 0,
            "interval_step": 0.1,
            "interval_max": 0.1,
        },
        # Config > Redis backend settings. The same bounds for result reads/writes.
        "redis_socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
        "redis_socket_timeout": BROKER_SOCKET_TIMEOUT,
        "result_backend_transport_options": {
            "retry_policy": {
                "max_retries": PUBLISH_MAX_RETRIES,
                "interval_start": 0,
                "interval_step": 0.1,
                "interval_max": 0.1,
            },
        },
        # Config > Task result backend settings > result_expires. Long enough for
        # the status page; Redis expires the keys itself.
        "result_expires": RESULT_EXPIRES,
        # Config > Task settings > task_track_started. Without it a running task
        # reads as PENDING; the status page shows "sending" from STARTED.
        "task_track_started": True,
    }


def configure(celery: Celery, settings: Mapping[str, Any]) -> Celery:
    """`celery.conf.update(settings)`, pinned to the broker and backend `settings` name.

    Celery's `conf.broker_url` and `conf.result_backend` return os.environ's
    CELERY_BROKER_URL and CELERY_RESULT_BACKEND *before* the app's own conf
    (celery/app/utils.py, Settings), and compose and the local stack set both. So
    `settings` alone could be silently replaced: the web's state-only backend by a
    plain RedisBackend, a test's broker by the environment's. Our config code reads
    those variables already; here its reading is made the one Celery uses:
    - broker: connections are opened with `broker_read_url` / `broker_write_url`,
      which Celery prefers over `broker_url` (only CELERY_BROKER_READ_URL /
      CELERY_BROKER_WRITE_URL, which we never set, come before them);
    - result backend: `Celery._get_backend` prefers `app.backend_cls` (a class, or
      a `module:Class+url` / plain URL string) over `conf.result_backend`.
    The celery command line's --broker / --result-backend set those same variables,
    so they too are ignored; configure through our settings instead.
    """
    broker_url = settings["broker_url"]
    celery.conf.update(settings, broker_read_url=broker_url, broker_write_url=broker_url)
    celery.backend_cls = settings["result_backend"]
    return celery


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`celery_settings` from CELERY_BROKER_URL (required) and CELERY_RESULT_BACKEND."""
    env = os.environ if environ is None else environ
    broker_url = env.get("CELERY_BROKER_URL", "").strip()
    return celery_settings(broker_url, env.get("CELERY_RESULT_BACKEND", "").strip() or None)


def producer_settings(broker_url: str, result_backend: str | None = None) -> dict[str, Any]:
    """`celery_settings` for a process that only publishes (the web app).

    The result backend reads states without subscribing to each task (see results.py).
    """
    from bookshelf_tasks.results import producer_result_backend

    settings = celery_settings(broker_url, result_backend)
    settings["result_backend"] = producer_result_backend(settings["result_backend"])
    return settings
