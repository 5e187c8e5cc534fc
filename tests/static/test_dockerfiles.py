"""The Dockerfiles and their entrypoint scripts, checked without building anything:
hadolint, pinned bases, non-root users, healthchecks, and COPY sources that exist."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.static.support import DOCKERFILES, REPO, tool

pytestmark = pytest.mark.static

PYTHON_IMAGES = ("web", "worker")
SCRIPTS = sorted(REPO.glob("services/*/*.sh"))


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def test_every_service_has_a_dockerfile() -> None:
    assert {p.parent.name for p in DOCKERFILES} == {
        "web",
        "worker",
        "nginx",
        "keydb",
        "mailcatcher",
    }


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=ids(DOCKERFILES))
def test_hadolint_finds_no_errors(dockerfile: Path) -> None:
    done = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "error", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=ids(DOCKERFILES))
def test_base_images_are_pinned_by_tag(dockerfile: Path) -> None:
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), re.MULTILINE))
    stages = set()
    for word, rest in instructions(dockerfile):
        if word != "FROM":
            continue
        image = rest.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
        if image in stages:
            continue
        assert ":" in image and not image.endswith(":latest"), image
        assert re.search(r":\S*\d", image), f"{image}: tag has no version"
        if " AS " in rest.upper():
            stages.add(rest.split()[-1])


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=ids(DOCKERFILES))
def test_runs_as_a_non_root_user_with_a_healthcheck(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    users = [rest for word, rest in steps if word == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    healthchecks = [rest for word, rest in steps if word == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "NONE" not in healthchecks[0]


@pytest.mark.parametrize("service", PYTHON_IMAGES)
def test_python_images_are_multi_stage_and_include_shared(service: str) -> None:
    dockerfile = REPO / "services" / service / "Dockerfile"
    steps = instructions(dockerfile)
    froms = [rest for word, rest in steps if word == "FROM"]
    assert froms == [
        "python:3.11-slim-bookworm AS builder",
        "python:3.11-slim-bookworm AS runtime",
    ]
    runs = " ".join(rest for word, rest in steps if word == "RUN")
    copies = [rest for word, rest in steps if word == "COPY"]
    assert "shared/ shared/" in copies
    assert f"services/{service}/requirements.txt requirements.txt" in copies
    package = {"web": "bookshelf", "worker": "bookshelf_worker"}[service]
    assert f"pybabel compile --statistics -d {service}/src/{package}/translations" in runs
    assert "pip check" in runs


def test_web_healthcheck_probes_healthz_and_worker_pings_itself() -> None:
    web = (REPO / "services" / "web" / "Dockerfile").read_text()
    assert "/healthz" in web and "urllib.request" in web
    worker = (REPO / "services" / "worker" / "Dockerfile").read_text()
    assert "bookshelf-worker-healthcheck" in worker and "/healthz" not in worker
    script = (REPO / "services" / "worker" / "healthcheck.sh").read_text()
    assert 'inspect ping --destination "$node"' in script
    assert 'node="celery@${HOSTNAME:-$(hostname)}"' in script


def test_web_image_has_migrations_in_its_workdir() -> None:
    steps = instructions(REPO / "services" / "web" / "Dockerfile")
    runtime = steps[[w for w, _ in steps].index("FROM", 1) :]
    assert ("WORKDIR", "/app") in runtime
    assert ("COPY", "services/web/migrations/ migrations/") in runtime


def copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for word, rest in instructions(dockerfile):
        if word not in {"COPY", "ADD"}:
            continue
        parts = [p for p in shlex.split(rest) if not p.startswith("--")]
        if "--from=" not in rest:
            sources += parts[:-1]
    return sources


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=ids(DOCKERFILES))
def test_copy_sources_exist_and_are_not_docker_ignored(dockerfile: Path) -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    }
    for source in copy_sources(dockerfile):
        assert (REPO / source).exists(), f"{dockerfile}: COPY {source} does not exist"
        assert source.split("/")[0] not in ignored, f"{source} is in .dockerignore"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", ".venv", ".tools", "**/*.mo"):
        assert entry in ignored


@pytest.mark.parametrize("script", SCRIPTS, ids=ids(SCRIPTS))
def test_scripts_use_strict_mode_and_exec_or_test(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/bin/")
    assert "set -o errexit -o nounset -o pipefail" in text
    assert script.stat().st_mode & 0o111, "not executable"
    shell = "bash" if text.startswith("#!/bin/bash") else "sh"
    syntax = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    if script.name == "entrypoint.sh":
        assert re.search(r"^exec ", text, re.MULTILINE), "the server must be exec'd (PID 1)"


@pytest.mark.parametrize(
    ("service", "command"),
    [
        ("web", "gunicorn -c /app/gunicorn.conf.py 'bookshelf:create_app()'"),
        ("worker", "celery -A bookshelf_worker.celery_app:celery_app worker -Q email"),
    ],
)
def test_entrypoints_start_the_documented_server(service: str, command: str) -> None:
    assert command in (REPO / "services" / service / "entrypoint.sh").read_text()
