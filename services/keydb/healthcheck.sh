#!/bin/bash
# Healthy when KeyDB answers PING with PONG (authenticated when a password is set).
# keydb-cli reads the password from REDISCLI_AUTH, so it never appears in a process list.
set -o errexit -o nounset -o pipefail

if [[ -n ${KEYDB_PASSWORD:-} ]]; then
  export REDISCLI_AUTH=$KEYDB_PASSWORD
fi
reply=$(keydb-cli -h 127.0.0.1 -p 6379 ping)
[[ $reply == PONG ]]
