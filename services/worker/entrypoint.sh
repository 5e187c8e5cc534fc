#!/bin/bash
# Entry point of the worker image: with no arguments, the Celery worker on queue "email"
# (docs/architecture.md); any other command runs as given.
set -o errexit -o nounset -o pipefail

if [[ $# -eq 0 ]]; then
  set -- celery -A bookshelf_worker.celery_app:celery_app worker -Q email --loglevel "${LOG_LEVEL:-INFO}"
fi
exec "$@"
