#!/bin/sh
# Renders nginx.conf.template (the same file the local-process tests run) and starts nginx.
# envsubst gets the explicit list of the five tokens, so nginx's own $variables survive.
set -o errexit -o nounset -o pipefail

: "${NGINX_LISTEN:?}" "${WEB_UPSTREAM:?}" "${STATIC_ROOT:?}" "${NGINX_RUNTIME_DIR:?}" "${HSTS_MAX_AGE:?}"
template=${NGINX_TEMPLATE:-/etc/nginx/bookshelf/nginx.conf.template}
config=$NGINX_RUNTIME_DIR/nginx.conf

mkdir -p "$NGINX_RUNTIME_DIR"
# The config logs into the runtime dir; in a container those files are the standard streams.
[ -e "$NGINX_RUNTIME_DIR/access.log" ] || ln -s /dev/stdout "$NGINX_RUNTIME_DIR/access.log"
[ -e "$NGINX_RUNTIME_DIR/error.log" ] || ln -s /dev/stderr "$NGINX_RUNTIME_DIR/error.log"

# shellcheck disable=SC2016 # the single quotes are the point: envsubst expands only these.
envsubst '${NGINX_LISTEN} ${WEB_UPSTREAM} ${STATIC_ROOT} ${NGINX_RUNTIME_DIR} ${HSTS_MAX_AGE}' \
  <"$template" >"$config"

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
exec nginx -p "$NGINX_RUNTIME_DIR" -c "$config" -e stderr -g 'daemon off;'
