#!/bin/bash
# Starts the broker's server ($BROKER-server: keydb, valkey or redis) on Bookshelf's
# rendered keydb.conf, with a password when KEYDB_PASSWORD is set.
set -o errexit -o nounset -o pipefail

args=(/etc/bookshelf/broker.conf)
if [[ -n ${KEYDB_PASSWORD:-} ]]; then
  args+=(--requirepass "$KEYDB_PASSWORD")
fi
exec "${BROKER:-keydb}-server" "${args[@]}" "$@"
