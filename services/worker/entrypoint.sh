#!/bin/bash
# Entry point of the worker image: with no arguments, the Celery worker on queues "email"
# and "jobs" (docs/architecture.md); `beat` runs the scheduler (its own service); any
# other command runs as given.
# Pool and size come from CELERY_WORKER_POOL and CELERY_WORKER_CONCURRENCY, which the app
# reads too (it sizes its database pool for them): threads, 32 by default, because a send
# is almost all waiting on SMTP and Postgres (docs/architecture.md, "Worker pool").
set -o errexit -o nounset -o pipefail

if [[ $# -eq 0 ]]; then
  set -- celery -A bookshelf_worker.celery_app:celery_app worker -Q email,jobs \
    --pool "${CELERY_WORKER_POOL:-threads}" --concurrency "${CELERY_WORKER_CONCURRENCY:-32}" \
    --loglevel "${LOG_LEVEL:-INFO}"
elif [[ $# -eq 1 && $1 == beat ]]; then
  set -- celery -A bookshelf_worker.celery_app:celery_app beat \
    --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" --loglevel "${LOG_LEVEL:-INFO}"
fi
exec "$@"
