#!/bin/bash
# Entry point of the web image. With no arguments it serves the app with gunicorn
# (docs/architecture.md); any other command (the migrate service's
# `flask --app bookshelf db upgrade`, a shell) runs as given.
set -o errexit -o nounset -o pipefail

if [[ $# -eq 0 ]]; then
  set -- gunicorn -c /app/gunicorn.conf.py 'bookshelf:create_app()'
fi
exec "$@"
