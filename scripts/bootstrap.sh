#!/usr/bin/env bash
# Installs whatever `make test` and `make dev` need and is missing, on a fresh Debian
# machine as root: apt packages, MailHog (built from tools/mailhog with Go), the virtualenv.
# Every step is skipped when its result is already there, so a second run takes a second.
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
tools_bin=$repo/.tools/bin
python=${PYTHON:-python3}

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

# hey: the HTTP load generator of the benchmarks (bench/hey.py).
apt_packages=(postgresql redis-server nginx-light docker-compose chromium fonts-noto-color-emoji hey)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing apt packages: ${missing[*]}; install them as root." >&2
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian packages start system-wide daemons on fixed ports; the project runs
  # its own instances on free ports, so the system ones only get in the way.
  for svc in redis-server nginx postgresql; do
    (command -v systemctl >/dev/null && systemctl disable --now "$svc" >/dev/null 2>&1) || service "$svc" stop >/dev/null 2>&1 || true
  done
fi

if [[ ! -x $tools_bin/MailHog ]]; then
  go_needed=$(awk '$1 == "go" {print $2; exit}' "$repo/tools/mailhog/go.mod")
  go_hint="install Go >= $go_needed from https://go.dev/dl/ (Debian 12's apt golang is 1.19, too old)"
  command -v go >/dev/null || { echo "bootstrap: Go is needed to build MailHog: $go_hint." >&2; exit 1; }
  go_have=$(go env GOVERSION | sed 's/^go//')
  if [[ $(printf '%s\n' "$go_needed" "$go_have" | sort -V | head -n1) != "$go_needed" ]]; then
    echo "bootstrap: tools/mailhog/go.mod needs Go >= $go_needed, but \`go\` is $go_have: $go_hint." >&2
    exit 1
  fi
  log "building MailHog into .tools/bin (go install, pinned by tools/mailhog/go.mod and go.sum)"
  mkdir -p "$tools_bin"
  # -mod=readonly: build exactly what go.mod/go.sum pin, and fail instead of rewriting them.
  (cd "$repo/tools/mailhog" && GOBIN=$tools_bin GOFLAGS=-mod=readonly go install github.com/mailhog/MailHog)
fi

# promtool checks and unit-tests the alerting rules (services/prometheus). Only that one
# binary of Debian's `prometheus` package (19 MB, about 2 s): unpacked, not installed, so
# no Prometheus daemon is set up on the machine.
if [[ ! -x $tools_bin/promtool ]]; then
  log "unpacking promtool into .tools/bin (apt-get download prometheus)"
  mkdir -p "$tools_bin"
  deb_dir=$(mktemp -d)
  (cd "$deb_dir" && apt-get download -qq prometheus 2>/dev/null) ||
    { apt-get update -qq && (cd "$deb_dir" && apt-get download -qq prometheus); }
  dpkg-deb --fsys-tarfile "$deb_dir"/prometheus_*.deb | tar -x -O ./usr/bin/promtool >"$tools_bin/promtool"
  chmod +x "$tools_bin/promtool"
  rm -rf "$deb_dir"
fi

stamp=$venv/.requirements.sha256
want=$(cat "$repo"/requirements-dev.txt "$repo"/shared/pyproject.toml "$repo"/services/*/pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  log "virtualenv at $venv"
  [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$repo/requirements-dev.txt"
  "$venv/bin/python" -m pip install -q --no-deps -e "$repo/shared" -e "$repo/services/web" -e "$repo/services/worker"
  echo "$want" >"$stamp"
fi
# Compiled catalogs (.mo) are build output: made here and in the images, never committed.
for catalog in "$repo"/services/*/src/*/translations; do
  [[ -d $catalog ]] && "$venv/bin/pybabel" -q compile -f -d "$catalog"
done
log "ready"
