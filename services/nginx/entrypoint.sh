#!/bin/sh
# Renders nginx.conf.template (the same file the local-process tests run) and starts nginx.
# envsubst gets the explicit list of the six tokens, so nginx's own $variables survive.
set -o errexit -o nounset -o pipefail

: "${NGINX_LISTEN:?}" "${WEB_UPSTREAM:?}" "${STATIC_ROOT:?}" "${NGINX_RUNTIME_DIR:?}" "${HSTS_MAX_AGE:?}"
template=${NGINX_TEMPLATE:-/etc/nginx/bookshelf/nginx.conf.template}
config=$NGINX_RUNTIME_DIR/nginx.conf

# NGINX_TRUSTED_PROXIES (addresses or CIDR ranges, space or comma separated; empty: none)
# becomes one set_real_ip_from line each, as devstack/nginx.py's real_ip_directives does.
NGINX_REAL_IP_FROM=""
for proxy in $(printf '%s' "${NGINX_TRUSTED_PROXIES:-}" | tr ',' ' '); do
  case $proxy in
    *[!0-9A-Fa-f.:/]* | "")
      echo "NGINX_TRUSTED_PROXIES: not an address or CIDR range: $proxy" >&2
      exit 1
      ;;
  esac
  NGINX_REAL_IP_FROM="${NGINX_REAL_IP_FROM}    set_real_ip_from $proxy;
"
done
export NGINX_REAL_IP_FROM

mkdir -p "$NGINX_RUNTIME_DIR"
# The config logs into the runtime dir; in a container those files are the standard streams.
[ -e "$NGINX_RUNTIME_DIR/access.log" ] || ln -s /dev/stdout "$NGINX_RUNTIME_DIR/access.log"
[ -e "$NGINX_RUNTIME_DIR/error.log" ] || ln -s /dev/stderr "$NGINX_RUNTIME_DIR/error.log"

# shellcheck disable=SC2016 # the single quotes are the point: envsubst expands only these.
envsubst '${NGINX_LISTEN} ${WEB_UPSTREAM} ${STATIC_ROOT} ${NGINX_RUNTIME_DIR} ${HSTS_MAX_AGE} ${NGINX_REAL_IP_FROM}' \
  <"$template" >"$config"

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
exec nginx -p "$NGINX_RUNTIME_DIR" -c "$config" -e stderr -g 'daemon off;'
