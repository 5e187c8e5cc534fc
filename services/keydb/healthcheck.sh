#!/bin/bash
# Healthy when the broker answers PING with PONG (authenticated when a password is set).
# The CLI reads the password from the environment (REDISCLI_AUTH; VALKEYCLI_AUTH for
# valkey-cli), so it never appears in a process list.
set -o errexit -o nounset -o pipefail

if [[ -n ${KEYDB_PASSWORD:-} ]]; then
  export REDISCLI_AUTH=$KEYDB_PASSWORD VALKEYCLI_AUTH=$KEYDB_PASSWORD
fi
reply=$("${BROKER:-keydb}-cli" -h 127.0.0.1 -p 6379 ping)
[[ $reply == PONG ]]
