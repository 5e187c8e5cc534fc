#!/usr/bin/env bash
# Installs whatever `make test` and `make dev` need and is missing, on a fresh Debian
# machine as root: apt packages (valkey-server from bookworm-backports), MailHog (built from
# tools/mailhog with Go), Mailpit when MAIL_CATCHER=mailpit (tools/mailpit), the virtualenv.
# Every step is skipped when its result is already there, so a second run takes a second.
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
tools_bin=$repo/.tools/bin
python=${PYTHON:-python3}

log() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

# hey: the HTTP load generator of the benchmarks (bench/hey.py).
apt_packages=(postgresql redis-server nginx-light docker-compose chromium fonts-noto-color-emoji hey)
# BROKER=valkey's server: Debian 12 has it in bookworm-backports only (Valkey 8.0).
backports=()
if [[ $(. /etc/os-release && echo "${VERSION_CODENAME:-}") == bookworm ]]; then
  apt_packages+=(valkey-server)
  backports=(-t bookworm-backports)
fi
backports_list=/etc/apt/sources.list.d/bookworm-backports.sources
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
  if ((${#backports[@]})) && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Backports are never picked unless asked for (-t), so the other packages stay on bookworm.
    printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: bookworm-backports" \
      "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$backports_list"
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${backports[@]}" "${missing[@]}" >/dev/null
  # The Debian packages start system-wide daemons on fixed ports; the project runs
  # its own instances on free ports, so the system ones only get in the way.
  for svc in redis-server valkey-server nginx postgresql; do
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

# axe-core, the accessibility checker the browser test runs in every page: npm's
# package, pinned by version and by the registry's integrity hash, into .tools/.
axe_version=4.14.1
axe_integrity=sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
axe_dir=$repo/.tools/axe-core
if [[ ! -f $axe_dir/axe.min.js || $(cat "$axe_dir/VERSION" 2>/dev/null) != "$axe_version" ]]; then
  if ! command -v npm >/dev/null; then
    [[ $(id -u) -eq 0 ]] || { echo "bootstrap: npm is missing; install it as root." >&2; exit 1; }
    log "apt-get install npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  log "axe-core $axe_version into .tools/axe-core (npm pack)"
  pack_dir=$(mktemp -d)
  trap 'rm -rf "$pack_dir"' EXIT
  got=$(cd "$pack_dir" && npm pack --silent --json "axe-core@$axe_version" | "$python" -c 'import json, sys; print(json.load(sys.stdin)[0]["integrity"])')
  if [[ $got != "$axe_integrity" ]]; then
    echo "bootstrap: axe-core $axe_version has integrity $got, expected $axe_integrity" >&2
    exit 1
  fi
  mkdir -p "$axe_dir"
  tar -xzf "$pack_dir"/axe-core-*.tgz -C "$pack_dir"
  cp "$pack_dir/package/axe.min.js" "$pack_dir/package/LICENSE" "$axe_dir/"
  echo "$axe_version" >"$axe_dir/VERSION"
fi

# Mailpit only when asked for: building it takes about 3.5 min on 2 cores, too much for
# every fresh `make test`, which then says that it skipped the Mailpit pairs and why.
if [[ ${MAIL_CATCHER:-} == mailpit && ! -x $tools_bin/mailpit ]]; then
  command -v go >/dev/null || { echo "bootstrap: Go (>= 1.21) is needed to build Mailpit." >&2; exit 1; }
  log "building Mailpit into .tools/bin (go install, pinned by tools/mailpit; about 3.5 min)"
  mkdir -p "$tools_bin"
  # Mailpit needs a newer Go than the one installed: GOTOOLCHAIN=auto fetches the one its
  # go.mod names from the Go module proxy (Go >= 1.21 knows how).
  (cd "$repo/tools/mailpit" && GOTOOLCHAIN=auto GOBIN=$tools_bin GOFLAGS=-mod=readonly go install github.com/axllent/mailpit)
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
