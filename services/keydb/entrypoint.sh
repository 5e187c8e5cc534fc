#!/bin/bash
# Starts keydb-server on Bookshelf's keydb.conf, with a password when KEYDB_PASSWORD is set.
set -o errexit -o nounset -o pipefail

args=(/etc/keydb/bookshelf.conf)
if [[ -n ${KEYDB_PASSWORD:-} ]]; then
  args+=(--requirepass "$KEYDB_PASSWORD")
fi
exec keydb-server "${args[@]}" "$@"
