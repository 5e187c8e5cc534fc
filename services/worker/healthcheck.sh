#!/bin/bash
# Healthy while this container's worker consumes.
# - With CELERY_WORKER_HEARTBEAT_FILE: the consumer touches that file every few seconds
#   while it is connected and its event loop runs; healthy while the file is at most
#   CELERY_WORKER_LIVENESS_TIMEOUT seconds old, the age at which the worker's own
#   watchdog shuts it down (bookshelf_worker/liveness.py). Reads a file: no broker call.
# - Without it: this container's own Celery node answers a ping through the broker.
#   -d celery@$HOSTNAME: a ping to "any worker" would pass while this one is stuck.
set -o errexit -o nounset -o pipefail

heartbeat="${CELERY_WORKER_HEARTBEAT_FILE:-}"
if [[ -n "$heartbeat" ]]; then
  limit="${CELERY_WORKER_LIVENESS_TIMEOUT:-120}"
  if ! modified=$(stat -c %Y -- "$heartbeat" 2>/dev/null); then
    echo "unhealthy: no heartbeat file $heartbeat (not consuming yet)"
    exit 1
  fi
  age=$(($(date +%s) - modified))
  if awk -v age="$age" -v limit="$limit" 'BEGIN { exit !(age <= limit) }'; then
    echo "healthy: last heartbeat ${age}s ago"
    exit 0
  fi
  echo "unhealthy: last heartbeat ${age}s ago, over ${limit}s: not consuming"
  exit 1
fi

node="celery@${HOSTNAME:-$(hostname)}"
exec celery -A bookshelf_worker.celery_app:celery_app inspect ping --destination "$node" --timeout 10
