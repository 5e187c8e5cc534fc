#!/usr/bin/env bash
# Pins each package's requirements.txt from its pyproject.toml, then the dev lock on top
# of all three, so that the images and `make test` install the same versions.
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
command -v "$uv" >/dev/null || { .venv/bin/python -m pip install -q uv && uv=$PWD/.venv/bin/uv; }
for pkg in shared services/web services/worker; do
  (cd "$pkg" && "$uv" pip compile -q --python-version 3.11 pyproject.toml -o requirements.txt)
done
"$uv" pip compile -q --python-version 3.11 requirements-dev.in -o requirements-dev.txt
