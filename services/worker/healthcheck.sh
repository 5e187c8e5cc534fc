#!/bin/bash
# Healthy when this container's own Celery node answers a ping through the broker.
# -d celery@$HOSTNAME: a ping to "any worker" would pass while this one is stuck.
set -o errexit -o nounset -o pipefail

node="celery@${HOSTNAME:-$(hostname)}"
exec celery -A bookshelf_worker.celery_app:celery_app inspect ping --destination "$node" --timeout 10
