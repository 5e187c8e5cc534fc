#!/bin/bash
# keydb.conf for one broker flavour, on stdout: the image runs it at build time and
# devstack before it sets the local directives, so both run the same file.
# KeyDB's `server-threads` is `io-threads` on Valkey; redis-server runs without it.
set -o errexit -o nounset -o pipefail

case ${1:?usage: render-conf.sh keydb|valkey|redis <keydb.conf} in
  keydb) cat ;;
  valkey) sed 's/^server-threads /io-threads /' ;;
  redis) sed '/^server-threads /d' ;;
  *)
    echo "render-conf.sh: unknown broker '$1' (keydb, valkey or redis)" >&2
    exit 2
    ;;
esac
