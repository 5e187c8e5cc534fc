"""The Celery settings the web app (producer) and the worker (consumer) share.

Each setting says why it is set and where the Celery docs explain it
("Configuration and defaults", https://docs.celeryq.dev/en/stable/userguide/configuration.html,
abbreviated "Config > <section>" below).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from bookshelf_tasks.names import EMAIL_QUEUE, JOBS_QUEUE

if TYPE_CHECKING:
    from celery import Celery

# --- Retry budget of the email tasks. It lives here, not in the worker, because the
# broker's visibility_timeout below must outlast the longest retry countdown.
EMAIL_MAX_RETRIES: Final = 5
EMAIL_RETRY_BACKOFF_BASE: Final = 2.0  # seconds; doubled per attempt, with jitter
EMAIL_RETRY_BACKOFF_MAX: Final = 300.0  # seconds; no countdown is ever longer

# --- Time limits of one task run. An SMTP send is a few round trips bounded by
# MAIL_TIMEOUT each (10 s by default), and the whole send by the worker's own
# MAIL_SEND_DEADLINE (25 s by default, at most the soft limit), which catches a server
# that trickles bytes. Celery enforces these limits in the prefork pool only: the
# worker's default thread pool ignores them, and relies on that deadline alone.
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


class MissingSettingError(RuntimeError):
    """A required environment variable is not set."""


def celery_settings(broker_url: str) -> dict[str, Any]:
    """Settings for `Celery.conf.update()`; the same dict on both sides of the broker."""
    if not broker_url:
        raise MissingSettingError("CELERY_BROKER_URL is required, e.g. redis://localhost:6379/0")
    return {
        # Config > Broker Settings > broker_url. KeyDB speaks the Redis protocol.
        "broker_url": broker_url,
        # Config > Task settings > task_ignore_result. No result backend: every
        # email's state is in Postgres (bookshelf_tasks.delivery), and the broker only
        # carries "event X is due". Nothing about delivery depends on the broker's data.
        "task_ignore_result": True,
        # Config > Task settings > task_serializer / accept_content. JSON only: no
        # pickle means a message on the broker can never execute code in the worker,
        # and a payload is plain data that the worker validates again.
        "task_serializer": "json",
        "accept_content": ["json"],
        # Config > Time and date settings. One clock for occurred_at and ETAs.
        "enable_utc": True,
        "timezone": "UTC",
        # Config > Message Routing > task_routes. Even a task sent without an
        # explicit queue lands on `email`, which is the only queue the worker reads.
        # Background jobs go to their own queue, read by the same worker (`-Q email,jobs`).
        "task_routes": {
            "bookshelf.email.*": {"queue": EMAIL_QUEUE},
            "bookshelf.jobs.*": {"queue": JOBS_QUEUE},
        },
        "task_default_queue": EMAIL_QUEUE,
        # Config > Task settings > task_acks_late + task_reject_on_worker_lost.
        # Acknowledge after the run, so no message is lost with a worker (Celery FAQ
        # "Should I use retry or acks_late?"). With the prefork pool, a pool process
        # that dies mid-send (OOM, SIGKILL) has its message requeued at once
        # (reject_on_worker_lost); the copy finds the row still 'sending' under the
        # dead attempt's lease and is dropped. With the thread pool (the worker's
        # default) no thread dies alone: a killed worker process loses all its sends
        # in flight, and nothing is left to requeue them; their messages stay
        # unacknowledged on the broker (redelivered after visibility_timeout). Either
        # way the relay settles each row when its lease ends: published again if DATA
        # never began, 'uncertain' if it had (docs/architecture.md, "Relay pass").
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Config > Worker > worker_cancel_long_running_tasks_on_connection_loss. Off:
        # cancelling would kill an email mid-SMTP-conversation, possibly after DATA,
        # turning a delivery into an "uncertain" one. The task finishes and records
        # its outcome in Postgres; its message, redelivered later, finds the event
        # claimed or sent and is dropped (bookshelf_tasks.delivery.claim).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Config > Worker > worker_prefetch_multiplier ("Optimizing > Prefetch
        # Limits"). With acks_late, the messages a worker reserves include the ones it
        # is running, so 1 means one per pool slot: a prefork process never holds an
        # email behind a slow send (a hung SMTP server takes MAIL_TIMEOUT), and a
        # thread that finishes takes the next in one broker round trip, small beside
        # a send. More (4 per thread was measured) sent no faster, cost more CPU, and
        # would strand more messages, unacknowledged, with a killed process.
        "worker_prefetch_multiplier": 1,
        # Config > Task execution settings > task_soft_time_limit / task_time_limit.
        # The soft limit raises SoftTimeLimitExceeded in the task (treated as a
        # transient failure); the hard one kills the process after that. Prefork
        # only: the thread pool ignores both (see TASK_SOFT_TIME_LIMIT above).
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
    }


def configure(celery: Celery, settings: Mapping[str, Any]) -> Celery:
    """`celery.conf.update(settings)`, pinned to the broker `settings` names.

    Celery's `conf.broker_url` returns os.environ's CELERY_BROKER_URL *before* the
    app's own conf (celery/app/utils.py, Settings), so a test's broker could be
    silently replaced by the environment's. Connections are opened with
    `broker_read_url` / `broker_write_url`, which Celery prefers over `broker_url`
    (only CELERY_BROKER_READ_URL / CELERY_BROKER_WRITE_URL, which we never set, come
    before them); pinning those makes our reading the one Celery uses. The celery
    command line's --broker sets the same variable, so it too is ignored.
    """
    broker_url = settings["broker_url"]
    celery.conf.update(settings, broker_read_url=broker_url, broker_write_url=broker_url)
    return celery
